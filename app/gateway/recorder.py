"""Counts the gateway defers off the hot path, applied to Redis exactly once.

Two kinds of increments wait here, per worker process:

* the status class of admitted calls. The admission script counts a call as ``unknown``
  before the view runs; after the response, the call is moved to its class (``2xx`` …) by a
  pair of increments (-1 unknown, +1 class). A background thread sends them every
  ``GATEWAY_REPORT_INTERVAL_SECONDS`` in one pipeline, so the request path keeps exactly one
  Redis round trip. If a worker dies before reporting, its calls stay counted, as ``unknown``.
* everything counted while Redis was unreachable (``GATEWAY_REDIS_DOWN=serve``): admitted and
  rejected calls and quota use, replayed into Redis when it returns.

Each batch carries a random token that the apply script records atomically with the
increments, so a batch retried after an ambiguous failure (a reply lost) applies once.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import redis

from app.gateway import keys
from app.gateway.admission import QUOTA_TTL_SECONDS, Admission

log = logging.getLogger("mobihub.gateway")
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# The last calls kept per app for the usage page (a display log, not what is billed).
RECENT_CALLS = 50
RECENT_TTL_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class RecentCall:
    """One call as the usage page lists it."""

    at: float  # epoch seconds
    status: int
    product: str
    method: str
    path: str

    def encode(self) -> str:
        return f"{self.at:.3f} {self.status} {self.product} {self.method} {self.path}"

    @classmethod
    def decode(cls, raw: bytes | str) -> RecentCall:
        text = raw.decode() if isinstance(raw, bytes) else raw
        at, status, product, method, path = text.split(" ", 4)
        return cls(float(at), int(status), product, method, path)


def recent_calls(client: redis.Redis, app_id: int, limit: int = 20) -> list[RecentCall]:
    """An app's last calls, newest first (as reported by the workers, within a second)."""
    return [RecentCall.decode(raw) for raw in client.lrange(keys.recent_key(app_id), 0,
                                                             limit - 1)]


@dataclass
class Batch:
    """Increments of one app, sent together under one token."""

    app_id: int
    organisation_id: int
    token: str
    ops: dict[tuple[str, str], int] = field(default_factory=dict)


class UsageRecorder:
    """Holds deferred increments per app and sends them as idempotent batches."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self._lock = threading.Lock()
        self._pending: dict[int, dict[tuple[str, str], int]] = defaultdict(
            lambda: defaultdict(int))
        self._orgs: dict[int, int] = {}
        self._unsent: list[Batch] = []
        self._recent: dict[int, deque[tuple]] = {}
        self._send_lock = threading.Lock()
        # (app, minute, product, status) → the (bucket, field) pairs a status report moves
        self._status_keys: dict[tuple, tuple[tuple[str, str], tuple[str, str]]] = {}

    def add(self, app_id: int, organisation_id: int, key: str, hash_field: str,
            delta: int) -> None:
        """Defer one increment (``hash_field`` "" means a plain counter, e.g. the quota)."""
        with self._lock:
            self._pending[app_id][(key, hash_field)] += delta
            self._orgs[app_id] = organisation_id

    def note(self, app_id: int, organisation_id: int, product: str, minute: int | None,
             status: int, method: str, path: str) -> None:
        """After a response: move an admitted call (``minute`` of its bucket; None for a
        rejected one) from ``unknown`` to its status class, and keep the call for the app's
        log of last calls. One lock; the log line is formatted only if it is still among the
        last ``RECENT_CALLS`` when the batch is sent."""
        call = (time.time(), status, product, method, path)
        if minute is None:
            with self._lock:
                self._recent_calls(app_id).append(call)
            return
        ops_keys = self._status_keys.get((app_id, minute, product, status))
        if ops_keys is None:
            ops_keys = self._status_ops_keys(app_id, minute, product, status)
        with self._lock:
            ops = self._pending[app_id]
            ops[ops_keys[0]] -= 1
            ops[ops_keys[1]] += 1
            self._orgs[app_id] = organisation_id
            self._recent_calls(app_id).append(call)

    def _status_ops_keys(self, app_id: int, minute: int, product: str, status: int
                         ) -> tuple[tuple[str, str], tuple[str, str]]:
        """The (bucket, field) pairs of "unknown" and of the status class (cached: few)."""
        if len(self._status_keys) >= 4096:
            self._status_keys.clear()
        bucket = keys.bucket_key(app_id, minute)
        pair = self._status_keys[(app_id, minute, product, status)] = (
            (bucket, keys.field(product, keys.UNKNOWN_CLASS, keys.ADMITTED)),
            (bucket, keys.field(product, keys.status_class(status), keys.ADMITTED)))
        return pair

    def _recent_calls(self, app_id: int) -> deque[tuple]:
        calls = self._recent.get(app_id)
        if calls is None:
            calls = self._recent[app_id] = deque(maxlen=RECENT_CALLS)
        return calls

    def discard(self) -> None:
        """Forget everything held (a test starting on a flushed Redis)."""
        with self._lock:
            self._pending.clear()
            self._unsent.clear()
            self._recent.clear()

    def held(self) -> int:
        """How many increments wait to be sent (pending and unsent batches)."""
        with self._lock:
            return sum(len(ops) for ops in self._pending.values()) + sum(
                len(batch.ops) for batch in self._unsent)

    def drain(self) -> bool:
        """Send everything waiting; True when nothing is left (False: Redis unreachable)."""
        with self._send_lock:
            with self._lock:
                for app_id, ops in self._pending.items():
                    live = {k: v for k, v in ops.items() if v}
                    if live:
                        self._unsent.append(Batch(app_id, self._orgs[app_id],
                                                  secrets.token_hex(12), live))
                self._pending.clear()
                batches = list(self._unsent)
                recent, self._recent = self._recent, {}
            if not batches and not recent:
                return True
            try:
                self._send(batches, recent)
            except REDIS_ERRORS as exc:
                log.warning("deferred usage not sent yet; kept for retry",
                            extra={"error": type(exc).__name__, "batches": len(batches)})
                return False
            with self._lock:
                sent = {id(b) for b in batches}
                self._unsent = [b for b in self._unsent if id(b) not in sent]
            return True

    def _send(self, batches: list[Batch], recent: dict[int, deque[tuple]] | None = None
              ) -> None:
        pipe = self.admission.client.pipeline(transaction=False)
        # The log of last calls rides in the same pipeline; if this send fails it is dropped
        # (a display log: the counts above are what is billed, and they are kept for retry).
        for app_id, calls in (recent or {}).items():
            key = keys.recent_key(app_id)
            pipe.lpush(key, *(RecentCall(*call).encode() for call in calls))
            pipe.ltrim(key, 0, RECENT_CALLS - 1)
            pipe.expire(key, RECENT_TTL_SECONDS)
        for batch in batches:
            key_index: dict[str, int] = {}
            args: list[int | str] = [batch.organisation_id, QUOTA_TTL_SECONDS]
            for (key, hash_field), delta in batch.ops.items():
                index = key_index.setdefault(key, len(key_index) + 2)
                args.extend((index, hash_field, delta))
            self.admission.apply_script(
                keys=[keys.token_key(batch.app_id, batch.token), *key_index], args=args,
                client=pipe)
        pipe.execute()
