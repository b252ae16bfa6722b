"""Live availability: the newest reading per facility in Redis, every reading in history.

Redis holds one JSON value per facility under ``parking:live:{provider_id}:{source_id}``;
a reading only replaces an older one (out-of-order deliveries never roll the value back).
Each reading carries the time it was observed upstream and the time the hub received it; the
API derives its age from them and flags it as stale past ``PARKING_STALE_AFTER_SECONDS``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from providers.base import ImportResult
from providers.models import Feed, FeedVersion
from providers.parking.models import ParkingAvailabilityReading, ParkingFacility
from providers.parking.records import AvailabilityRecord

KEY_PREFIX = "parking:live:"
# catch_up_live_store: rows per turn, and how far before the watermark each turn looks again.
CATCH_UP_BATCH = 10_000
CATCH_UP_LOOKBACK = 1_000
log = logging.getLogger(__name__)
_CHUNK = 500
# Publishers append a label to a record reference: VRS writes ``1035[P+R Bondorf]`` for ``1035``.
_REFERENCE_SUFFIX = re.compile(r"\s*\[[^\]]*\]\s*$")


def live_key(provider_id: int, source_id: str) -> str:
    """The Redis key of a facility's newest reading."""
    return f"{KEY_PREFIX}{provider_id}:{source_id}"


def active_version_ids() -> sa.Select:
    """Ids of the versions being served; canonical queries read only these."""
    return sa.select(FeedVersion.id).where(FeedVersion.status == "active")


def provider_source_ids(session: Session, provider_id: int) -> set[str]:
    """Source ids of a provider's facilities in the active versions of any of its feeds."""
    return set(session.scalars(
        sa.select(ParkingFacility.source_id)
        .join(FeedVersion, FeedVersion.id == ParkingFacility.feed_version_id)
        .join(Feed, Feed.id == FeedVersion.feed_id)
        .where(Feed.provider_id == provider_id, FeedVersion.status == "active")
    ))


def record_readings(session: Session, live: Any, provider_id: int,
                    readings: Sequence[AvailabilityRecord], received_at: datetime) -> int:
    """Append readings to history (once per observation time) and refresh the live store."""
    if not readings:
        return 0
    newest: dict[str, AvailabilityRecord] = {}
    for reading in readings:
        kept = newest.get(reading.source_id)
        if kept is None or reading.observed_at >= kept.observed_at:
            newest[reading.source_id] = reading
    _append_history(session, provider_id, readings, received_at)
    if live is not None:
        _refresh_live(live, provider_id, list(newest.values()), received_at)
    return len(newest)


def _append_history(session: Session, provider_id: int, readings: Sequence[AvailabilityRecord],
                    received_at: datetime) -> None:
    ids = sorted({r.source_id for r in readings})
    seen: set[tuple[str, datetime]] = set()
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            sa.select(ParkingAvailabilityReading.source_id, ParkingAvailabilityReading.observed_at)
            .where(ParkingAvailabilityReading.provider_id == provider_id,
                   ParkingAvailabilityReading.source_id.in_(ids[start:start + _CHUNK]))
        )
        seen.update((sid, at) for sid, at in rows)
    fresh = []
    for r in readings:
        if (r.source_id, r.observed_at) in seen:
            continue
        seen.add((r.source_id, r.observed_at))
        fresh.append({"provider_id": provider_id, "source_id": r.source_id, "free": r.free,
                      "occupied": r.occupied, "capacity": r.capacity, "status": r.status,
                      "trend": r.trend, "observed_at": r.observed_at,
                      "received_at": received_at})
    if fresh:
        session.execute(sa.insert(ParkingAvailabilityReading), fresh)


def _refresh_live(live: Any, provider_id: int, readings: list[AvailabilityRecord],
                  received_at: datetime) -> None:
    _set_unless_older(live, {live_key(provider_id, r.source_id): serialise(r, received_at)
                             for r in readings})


def _set_unless_older(live: Any, readings: dict[str, dict[str, Any]]) -> None:
    """Store each reading under its key unless the stored one was observed later."""
    keys = list(readings)
    current = live.mget(keys) if keys else []
    pipe = live.pipeline(transaction=False)
    for key, stored in zip(keys, current, strict=True):
        reading = readings[key]
        if stored is not None and json.loads(stored).get("observed_at", "") > reading[
                "observed_at"]:
            continue
        pipe.set(key, json.dumps(reading))
    pipe.execute()


def serialise(reading: AvailabilityRecord, received_at: datetime) -> dict[str, Any]:
    """The JSON form of a reading in the live store."""
    return {"free": reading.free, "occupied": reading.occupied, "capacity": reading.capacity,
            "status": reading.status, "trend": reading.trend,
            "observed_at": reading.observed_at.isoformat(),
            "received_at": received_at.isoformat()}


def read_live(live: Any, keys: Iterable[tuple[int, str]]) -> list[dict[str, Any] | None]:
    """The newest reading of each (provider id, source id), None where there is none."""
    names = [live_key(p, s) for p, s in keys]
    if not names or live is None:
        return [None] * len(names)
    return [None if raw is None else json.loads(raw) for raw in live.mget(names)]


class PendingLiveRead:
    """An MGET of newest readings already sent to Redis, its reply read by ``result()``.

    A caller sends it, does other waiting work (the SQL statement of the same request), then
    reads the reply: Redis and the database answer at the same time instead of one after the
    other. The connection is the pool's own, held until ``result()`` (or ``discard()``)
    returns it; a reply that fails to arrive is read again the plain way, as ``read_live``
    would, so the outcome never differs from ``read_live`` at the time of sending.
    """

    def __init__(self, live: Any, names: list[str]) -> None:
        self._live, self._names = live, names
        self._connection: Any = None
        pool = getattr(live, "connection_pool", None)
        if not names or pool is None or getattr(live, "connection", None) is not None:
            return  # nothing to ask, or a client that is not a plain pooled one: read later
        connection = pool.get_connection()
        try:
            connection.send_command("MGET", *names)
        except Exception:  # the plain read in result() retries and reports it
            connection.disconnect()
            pool.release(connection)
            return
        self._connection = connection

    def result(self) -> list[dict[str, Any] | None]:
        """The readings, in the order of the keys (None where there is none)."""
        if not self._names or self._live is None:
            return [None] * len(self._names)
        raws = None
        connection, self._connection = self._connection, None
        if connection is not None:
            pool = self._live.connection_pool
            try:
                raws = connection.read_response()
            except Exception:  # read again below, as read_live would
                connection.disconnect()
            finally:
                pool.release(connection)
        if raws is None:
            raws = self._live.mget(self._names)
        return [None if raw is None else json.loads(raw) for raw in raws]

    def discard(self) -> None:
        """Drop the reply unread (the connection is closed, so no later command reads it)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.disconnect()
            self._live.connection_pool.release(connection)


def send_live_read(live: Any, keys: Iterable[tuple[int, str]]) -> PendingLiveRead:
    """Send the MGET of ``read_live`` now; ``result()`` of the return value reads the reply."""
    return PendingLiveRead(live, [live_key(p, s) for p, s in keys])


class ParkingAvailabilityWriter:
    """Applies a real-time publication to the facilities its provider already published."""

    def write(self, session: Session, feed: Feed, version: FeedVersion | None,
              result: ImportResult, context: Any) -> dict[str, int]:
        """Match readings to the provider's active facilities; report the ones that match none."""
        known = provider_source_ids(session, feed.provider_id)
        matched: list[AvailabilityRecord] = []
        for reading in result.records.get("availability", []):
            source_id = resolve_reference(reading.source_id, known)
            if source_id is None:
                result.report.warning(
                    "unknown_facility",
                    f"No facility {reading.source_id!r} in the provider's active feeds; "
                    "import its static data first. This reading was not applied.",
                    field="source_id", value=reading.source_id)
                continue
            reading.source_id = source_id
            matched.append(reading)
        applied = record_readings(session, context.live, feed.provider_id, matched, context.now)
        return {"facilities": applied, "availability": len(matched), "zones": 0}


def resolve_reference(reference: str, known: set[str]) -> str | None:
    """The known source id a status reference points to (exact, or without a label suffix)."""
    if reference in known:
        return reference
    bare = _REFERENCE_SUFFIX.sub("", reference)
    return bare if bare in known else None


def warm_live_store(session: Session, live: Any) -> int:
    """Load each facility's newest reading from the history into the live store (SET NX).

    The embedded in-process store starts empty in every process, so readings that another
    process (``mobihub feeds import``, the demo) recorded would be invisible to the server;
    the history table is the durable record, so a worker rebuilds the live view from it.
    """
    history = ParkingAvailabilityReading
    newest = (
        sa.select(history.provider_id, history.source_id,
                  sa.func.max(history.observed_at).label("observed_at"))
        .group_by(history.provider_id, history.source_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(history).join(newest, sa.and_(
            history.provider_id == newest.c.provider_id,
            history.source_id == newest.c.source_id,
            history.observed_at == newest.c.observed_at))
    ).scalars()
    pipe = live.pipeline(transaction=False)
    count = 0
    for row in rows:
        pipe.set(live_key(row.provider_id, row.source_id), json.dumps(_history_reading(row)),
                 nx=True)
        count += 1
    pipe.execute()
    return count


def _history_reading(row: ParkingAvailabilityReading) -> dict[str, Any]:
    return {"free": row.free, "occupied": row.occupied, "capacity": row.capacity,
            "status": row.status, "trend": row.trend, "observed_at": row.observed_at.isoformat(),
            "received_at": row.received_at.isoformat()}


def history_watermark(session: Session) -> int:
    """The highest history row id: where ``catch_up_live_store`` starts after a warm-up."""
    return session.scalar(sa.select(sa.func.max(ParkingAvailabilityReading.id))) or 0


def catch_up_live_store(session: Session, live: Any, after_id: int) -> int:
    """Apply the readings recorded after history row ``after_id`` to the live store.

    On the embedded store a reading that another process records (``mobihub feeds import``
    of a status publication) reaches this process only through the history table. Rows are
    read in id order from ``CATCH_UP_LOOKBACK`` ids back, so a row whose id was taken before a
    later one's but committed after it (PostgreSQL) is still seen; a reading never replaces
    a later observation, so reading a row twice changes nothing. Returns the new watermark.
    """
    history = ParkingAvailabilityReading
    rows = session.scalars(
        sa.select(history).where(history.id > max(after_id - CATCH_UP_LOOKBACK, 0))
        .order_by(history.id).limit(CATCH_UP_BATCH)).all()
    newest: dict[str, ParkingAvailabilityReading] = {}
    for row in rows:
        key = live_key(row.provider_id, row.source_id)
        kept = newest.get(key)
        if kept is None or row.observed_at >= kept.observed_at:
            newest[key] = row
    if newest:
        _set_unless_older(live, {key: _history_reading(row) for key, row in newest.items()})
    return max(after_id, rows[-1].id) if rows else after_id


class LiveHistoryFollower:
    """A worker's thread that keeps its embedded live store in step with the history table.

    Started on the worker's first request (a thread started before gunicorn forks would not
    run in the worker), every ``interval`` seconds it applies what other processes recorded:
    parking readings, and whatever each of ``journals`` (objects with ``catch_up(session,
    live)``, such as transit's ``RealtimeJournal``) replays. Only on the embedded store: with a
    Redis server every process writes the same store.
    """

    def __init__(self, app: Any, live: Any, watermark: int, interval: float,
                 journals: tuple[Any, ...] = ()) -> None:
        self.app, self.live, self.watermark, self.interval = app, live, watermark, interval
        self.journals = journals
        self._started = False
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def start_once(self) -> None:
        """Start the thread unless it runs (a ``before_request`` hook: one attribute read)."""
        if self._started:
            return
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="mobihub-live-history",
                                 daemon=True).start()

    def stop(self) -> None:
        """Let the thread end at its next turn."""
        self._stop.set()

    def follow_once(self) -> None:
        """One turn: apply the history rows recorded since the last one."""
        from app.db import db

        with self.app.app_context():
            try:
                self.watermark = catch_up_live_store(db.session(), self.live, self.watermark)
                for journal in self.journals:
                    journal.catch_up(db.session(), self.live)
            finally:
                db.session.remove()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.follow_once()
            except Exception:  # the thread must outlive a locked or briefly absent database
                log.warning("live history not followed this turn", exc_info=True)
