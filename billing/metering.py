"""The metering flush: Redis usage buckets → SQL usage ledger, each call counted exactly once.

A bucket is a Redis hash per app and minute (``app.gateway.keys``). The flush:

1. *claims* each bucket with ``RENAME`` to a key named after this flush (atomic: a call counted
   after the rename lands in a fresh bucket, picked up by the next flush);
2. reads the claimed hashes and, in ONE SQL transaction, writes a journal row per claimed key
   (primary key: the claimed key name) and adds the counts to the ledger rows (upsert with a
   delta);
3. deletes the claimed keys only after the commit.

A crash after 1 leaves claimed keys: the next flush finds them (after ``recover_after``
seconds, so it never races a flush still running) and applies them. A crash after 2 leaves
claimed keys whose journal row exists: the next flush only deletes them. Two flushes applying
the same claim collide on the journal's primary key, and one of them skips it. So whatever
crashes when, every call reaches the ledger exactly once.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import get_db, utcnow
from app.gateway import keys
from billing.ledger import LedgerDelta, apply_deltas
from billing.models import UsageFlushClaim

log = logging.getLogger("mobihub.billing")
STEPS = ("claim", "commit")
JOURNAL_RETENTION = timedelta(days=7)


class FlushInterrupted(RuntimeError):
    """Raised by ``flush_usage(stop_after=…)``: the crash a test or drill injects."""


@dataclass
class FlushResult:
    """What one flush did."""

    flush_id: str
    claimed: int = 0
    recovered: int = 0
    applied: int = 0  # claims written to the ledger by this flush
    skipped: int = 0  # claims already in the journal (applied by an earlier flush)
    admitted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return dict(self.__dict__)


def flush_usage(*, client: redis.Redis | None = None, session: Session | None = None,
                recover_after: float = 30.0, stop_after: str | None = None,
                drain: bool = True) -> FlushResult:
    """Move every usage bucket into the ledger; safe to run anywhere, any time, concurrently."""
    if stop_after is not None and stop_after not in STEPS:
        raise ValueError(f"stop_after must be one of {STEPS}")
    if drain and "mobihub.gateway" in current_app.extensions:
        current_app.extensions["mobihub.gateway"].recorder.drain()
    client = client or current_app.extensions["mobihub.live"].client
    session = session or get_db().session()
    result = FlushResult(flush_id=secrets.token_hex(8))
    now = int(time.time())
    claims = _recoverable(client, now - recover_after)
    result.recovered = len(claims)
    for bucket in client.scan_iter(match=keys.BUCKET_PATTERN, count=1000):
        name = bucket.decode()
        app_id, rest = keys.parse_key(name)
        target = keys.claimed_key(app_id, result.flush_id, now, int(rest[-1]))
        try:
            client.rename(name, target)
        except redis.ResponseError:  # another flush claimed it first: "no such key"
            continue
        claims.append(target)
        result.claimed += 1
    if stop_after == "claim":
        raise FlushInterrupted("stopped after claiming")
    if not claims:
        return result
    contents = _read(client, claims)
    applied = _apply(session, result, contents)
    if stop_after == "commit":
        raise FlushInterrupted("stopped after commit")
    client.delete(*claims)
    _prune_journal(session)
    log.info("usage flushed", extra={"flush_id": result.flush_id, "claims": len(claims),
                                     "applied": applied, "admitted": result.admitted,
                                     "rejected": result.rejected})
    return result


def _recoverable(client: redis.Redis, claimed_before: float) -> list[str]:
    """Claimed keys left by flushes that crashed (claimed long enough ago)."""
    found = []
    for key in client.scan_iter(match=keys.CLAIMED_PATTERN, count=1000):
        name = key.decode()
        _app_id, rest = keys.parse_key(name)  # claimed, flush id, claimed at, minute
        if int(rest[2]) <= claimed_before:
            found.append(name)
    return found


def _read(client: redis.Redis, claims: list[str]) -> dict[str, dict[bytes, bytes]]:
    pipe = client.pipeline(transaction=False)
    for claim in claims:
        pipe.hgetall(claim)
    return dict(zip(claims, pipe.execute(), strict=True))


def deltas_of(claim: str, content: dict[bytes, bytes]) -> list[LedgerDelta]:
    """The ledger deltas one claimed bucket holds."""
    app_id, rest = keys.parse_key(claim)
    minute = int(rest[-1])
    organisation_id = int(content.get(keys.ORG_FIELD.encode(), b"0"))
    period = datetime.fromtimestamp(minute * 60, UTC)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for raw_field, raw_value in content.items():
        name = raw_field.decode()
        if name == keys.ORG_FIELD:
            continue
        product, status_class, kind = name.split("|")
        counts[(product, status_class)][0 if kind == keys.ADMITTED else 1] += int(raw_value)
    return [LedgerDelta(app_id, organisation_id, product, status_class, period, a, r)
            for (product, status_class), (a, r) in sorted(counts.items()) if a or r]


def _apply(session: Session, result: FlushResult, contents: dict[str, dict[bytes, bytes]]
           ) -> int:
    """Journal and ledger in one transaction; per claim in a savepoint when two flushes race."""
    done = set(session.scalars(sa.select(UsageFlushClaim.claim_key).where(
        UsageFlushClaim.claim_key.in_(list(contents)))))
    result.skipped += len(done)
    pending = {claim: deltas_of(claim, content) for claim, content in contents.items()
               if claim not in done}
    try:
        _write(session, result.flush_id, pending)
        session.commit()
    except IntegrityError:
        # Another flush recovered one of these claims meanwhile: apply one by one.
        session.rollback()
        for claim, deltas in pending.items():
            try:
                with session.begin_nested():
                    _write(session, result.flush_id, {claim: deltas})
            except IntegrityError:
                result.skipped += 1
                pending = {k: v for k, v in pending.items() if k != claim}
        session.commit()
    for deltas in pending.values():
        result.admitted += sum(d.admitted for d in deltas)
        result.rejected += sum(d.rejected for d in deltas)
    result.applied = len(pending)
    return len(pending)


def _write(session: Session, flush_id: str, pending: dict[str, list[LedgerDelta]]) -> None:
    for claim, deltas in pending.items():
        session.add(UsageFlushClaim(claim_key=claim, flush_id=flush_id,
                                    calls=sum(d.admitted + d.rejected for d in deltas)))
    session.flush()
    apply_deltas(session, [d for deltas in pending.values() for d in deltas])


def _prune_journal(session: Session) -> None:
    # A journal row is needed only while its claimed key may still exist in Redis.
    session.execute(sa.delete(UsageFlushClaim).where(
        UsageFlushClaim.applied_at < utcnow() - JOURNAL_RETENTION))
    session.commit()


def pending_calls(client: redis.Redis, app_id: int | None = None) -> dict[str, int]:
    """Calls counted in Redis and not yet in the ledger (buckets and claimed keys)."""
    totals = {"admitted": 0, "rejected": 0}
    patterns = (keys.BUCKET_PATTERN, keys.CLAIMED_PATTERN)
    if app_id is not None:  # one app: its own slot only
        patterns = (keys.tag(app_id) + ":u:*", keys.tag(app_id) + ":claimed:*")
    for pattern in patterns:
        for key in client.scan_iter(match=pattern, count=1000):
            for delta in deltas_of(key.decode(), client.hgetall(key)):
                totals["admitted"] += delta.admitted
                totals["rejected"] += delta.rejected
    return totals
