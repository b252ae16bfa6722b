"""Real-time transit in the live store: write GTFS-Realtime entities, read them for the API.

Per provider, one Redis hash per kind (``transit:rt:{provider}:trip_updates`` keyed by trip id,
or by run for frequency-based trips (``trip_update_key``); ``…:vehicles`` keyed by vehicle) and
one JSON string for alerts, each with an expiry, plus a meta hash with the feed timestamp. A
FULL_DATASET message replaces its kinds atomically (one MULTI pipeline); DIFFERENTIAL ones
merge. Trip updates are matched against the provider's active static version when written:
delays are computed against the schedule (for a run of a frequency-based trip, the template
moved to the run's start), stop sequences filled in from stop ids, and unmatched trips and
stops reported as warnings.

The embedded store lives in one process; there each applied message is also kept in SQL
(``TransitRealtimeUpdate``) until it expires, and serving workers replay what other processes
kept (``RealtimeJournal``), so a ``mobihub feeds import`` of a GTFS-RT file reaches the server.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import utcnow
from providers.base import ImportResult
from providers.gtfs.times import parse_time
from providers.models import Feed, Provider
from providers.transit.models import (
    TransitAgency,
    TransitFrequency,
    TransitRealtimeUpdate,
    TransitRoute,
    TransitStop,
)
from providers.transit.schedule import service_day_origin, zone
from providers.transit.timetable import trip_stop_times
from providers.transit.trips import version_trips

PROVIDERS_KEY = "transit:rt:providers"
# A header timestamp this far ahead of our clock is wrong (clocks drift by seconds, not this).
FUTURE_TOLERANCE_SECONDS = 300


def key(provider: str, kind: str) -> str:
    """The Redis key of one provider's real-time kind."""
    return f"transit:rt:{provider}:{kind}"


def trip_update_key(trip_id: str, service_date: str | None = None,
                    run_start: int | None = None) -> str:
    """The field of a trip update in the ``trip_updates`` hash: the trip id, or for one run of
    a frequency-based trip (frequencies.txt) the trip id, its service date (ISO, empty when
    unknown) and the run's start (seconds of the service day), so each run has its own."""
    if run_start is None:
        return trip_id
    return f"{trip_id} {service_date or ''} {run_start}"


def static_version_of(session: Session, provider_id: int) -> int | None:
    """The active GTFS version of the provider a real-time feed belongs to."""
    return session.scalar(sa.select(Feed.active_version_id).where(
        Feed.provider_id == provider_id, Feed.format == "gtfs"))


def version_timezone(session: Session, feed_version_id: int) -> str:
    """The agency time zone of a feed version (GTFS: all agencies of a feed share it)."""
    return session.scalar(sa.select(TransitAgency.timezone).where(
        TransitAgency.feed_version_id == feed_version_id).limit(1)) or "UTC"


class TransitRealtimeWriter:
    """Stores GTFS-RT entities in Redis after matching them to the static schedule."""

    def write(self, session: Session, feed: Feed, version: Any, result: ImportResult,
              context: Any) -> dict[str, int]:
        """Match and store; return counts of entities stored and trips matched."""
        live = context.live
        if live is None:
            raise ValueError("the real-time writer needs the live store")
        provider = session.get(Provider, feed.provider_id)
        assert provider is not None  # noqa: S101 - the feed's foreign key guarantees it
        slug = provider.slug
        report = result.report
        meta = result.meta
        static_version = static_version_of(session, provider.id)
        if static_version is None:
            report.warning("no_static_feed", f"{slug} has no active GTFS feed; real-time "
                           "entities cannot be matched to a schedule.")
        trip_updates = list(result.records.get("trip_updates", ()))
        vehicles = list(result.records.get("vehicles", ()))
        alerts = list(result.records.get("alerts", ()))
        matched, unmatched = _match_trip_updates(session, static_version, trip_updates, report,
                                                 meta.get("timestamp"))
        _check_references(session, static_version, trip_updates, vehicles, alerts, report)

        ttl = int(meta.get("ttl_seconds") or 900)
        _check_timestamp(meta.get("timestamp"), context.now, ttl, report)
        kinds = set(meta.get("kinds") or ())
        writes: dict[str, Any] = {"full": meta.get("incrementality") != "DIFFERENTIAL"}
        if "trip_updates" in kinds or trip_updates:
            writes["trip_updates"] = {_stored_as(tu): tu for tu in trip_updates}
        if "vehicles" in kinds or vehicles:
            writes["vehicles"] = {v["vehicle_id"] or v["entity_id"]: v for v in vehicles}
        if "alerts" in kinds or alerts:
            writes["alerts"] = alerts
        writes["meta"] = {"timestamp": meta.get("timestamp") or 0,
                          "received_at": context.now.timestamp(),
                          "static_version": static_version or 0}
        apply_update(live, slug, writes, ttl)
        if _embedded():
            keep_update(session, slug, writes, context.now + timedelta(seconds=ttl))
        return {"trip_updates": len(trip_updates), "vehicles": len(vehicles),
                "alerts": len(alerts), "matched_trips": matched, "unmatched_trips": unmatched}


_KINDS = ("alerts", "trip_updates", "vehicles")


def apply_update(live: Any, slug: str, writes: dict[str, Any], ttl: int) -> None:
    """Write one message's entities and meta to the live store (one MULTI pipeline).

    ``writes``: ``full`` (a FULL_DATASET replaces its kinds; a DIFFERENTIAL one merges), the
    kinds it carries (``trip_updates`` and ``vehicles`` keyed by id, ``alerts`` a list) and
    ``meta``; each key expires after ``ttl`` seconds.
    """
    full = writes["full"]
    pipe = live.pipeline(transaction=True)
    for kind in ("trip_updates", "vehicles"):
        if kind in writes:
            _replace_hash(pipe, key(slug, kind), writes[kind], ttl, full)
    if "alerts" in writes:
        pipe.set(key(slug, "alerts"), json.dumps(writes["alerts"]), ex=ttl)
    pipe.hset(key(slug, "meta"), mapping=writes["meta"])
    pipe.expire(key(slug, "meta"), ttl)
    pipe.sadd(PROVIDERS_KEY, slug)
    pipe.execute()


def _replace_hash(pipe: Any, name: str, items: dict[str, dict[str, Any]], ttl: int,
                  full: bool) -> None:
    if full:
        pipe.delete(name)
    if items:
        pipe.hset(name, mapping={k: json.dumps(v) for k, v in items.items()})
    pipe.expire(name, ttl)


def _embedded() -> bool:
    """Whether this app's live store is the embedded in-process one."""
    from flask import current_app, has_app_context

    live = current_app.extensions.get("mobihub.live") if has_app_context() else None
    return bool(live is not None and live.embedded)


def keep_update(session: Session, slug: str, writes: dict[str, Any], expires_at: datetime
                ) -> None:
    """Keep an applied message for the other processes on the embedded store.

    Expired messages go, and so do earlier full datasets of the same kinds (this one replaces
    them); the caller's transaction commits it with the import.
    """
    kinds = ",".join(kind for kind in _KINDS if kind in writes)
    update = TransitRealtimeUpdate
    session.execute(sa.delete(update).where(update.expires_at < utcnow()))
    if writes["full"]:
        session.execute(sa.delete(update).where(update.provider == slug, update.kinds == kinds))
    session.add(update(provider=slug, kinds=kinds, full=writes["full"],
                       feed_timestamp=int(writes["meta"]["timestamp"] or 0),
                       expires_at=expires_at, writes=writes))


class RealtimeJournal:
    """Replays the kept GTFS-Realtime messages (``keep_update``) into an embedded live store.

    ``warm`` applies every unexpired one when a worker starts; ``catch_up`` those kept since
    (from ``LOOKBACK`` ids back: on PostgreSQL an id taken earlier may commit later). A message
    is applied only if it is newer, by feed timestamp then id, than the last one applied for
    its provider and kinds, so an old one never undoes a newer one, and applying twice changes
    nothing.
    """

    LOOKBACK = 1_000
    BATCH = 1_000

    def __init__(self) -> None:
        self.watermark = 0
        self.applied: dict[tuple[str, str], tuple[int, int]] = {}

    def warm(self, session: Session, live: Any) -> int:
        """Apply every unexpired kept message; return how many were applied."""
        return self._apply(session, live, after_id=0)

    def catch_up(self, session: Session, live: Any) -> int:
        """Apply the messages kept since the last turn; return how many were applied."""
        return self._apply(session, live, after_id=max(self.watermark - self.LOOKBACK, 0))

    def _apply(self, session: Session, live: Any, after_id: int) -> int:
        # The headers first: a message's entities (up to megabytes of JSON) are read only when
        # it is applied, not on every turn that looks back over it.
        update = TransitRealtimeUpdate
        now = utcnow()
        applied = 0
        while True:
            rows = session.execute(
                sa.select(update.id, update.provider, update.kinds, update.feed_timestamp,
                          update.expires_at)
                .where(update.id > after_id, update.expires_at > now)
                .order_by(update.id).limit(self.BATCH)).all()
            for row in rows:
                order = (row.feed_timestamp, row.id)
                if order <= self.applied.get((row.provider, row.kinds), (-1, -1)):
                    continue
                ttl = int((row.expires_at - now).total_seconds())
                writes = session.scalar(sa.select(update.writes).where(update.id == row.id))
                if ttl <= 0 or writes is None:  # expiring now, or replaced meanwhile
                    continue
                apply_update(live, row.provider, writes, ttl)
                self.applied[(row.provider, row.kinds)] = order
                applied += 1
            if rows:
                after_id = rows[-1].id
                self.watermark = max(self.watermark, after_id)
            if len(rows) < self.BATCH:
                return applied


def _match_trip_updates(session: Session, static_version: int | None,
                        trip_updates: list[dict[str, Any]], report: Any,
                        feed_timestamp: int | None) -> tuple[int, int]:
    trip_ids = {tu["trip"]["trip_id"] for tu in trip_updates if tu["trip"]["trip_id"]}
    schedule: dict[str, dict[int, tuple[str, int | None, int | None]]] = {}
    periods: dict[str, list[tuple[int, int, int]]] = {}
    tz_name = "UTC"
    if static_version is not None and trip_ids:
        tz_name = version_timezone(session, static_version)
        for trip_id, stop_times in trip_stop_times(session, static_version,
                                                   trip_ids).items():
            schedule[trip_id] = {st.stop_sequence: (st.stop_id, st.arrival_secs,
                                                    st.departure_secs) for st in stop_times}
        periods = _frequency_periods(session, static_version, trip_ids)
    tz = zone(tz_name)
    matched = unmatched = 0
    for tu in trip_updates:
        trip = tu["trip"]
        trip_id = trip["trip_id"]
        stops = schedule.get(trip_id or "")
        if trip["schedule_relationship"] == "ADDED":
            tu["matched"] = False
            continue
        if trip_id is None:
            unmatched += 1
            tu["matched"] = False
            report.warning("unmatched_trip", f"Trip update {tu['entity_id']!r} names no trip_id "
                           "(only a route and start time); it cannot be matched to the "
                           "schedule.", field="trip_id", value=tu["entity_id"])
            continue
        if stops is None:
            unmatched += 1
            tu["matched"] = False
            report.warning("unmatched_trip", f"Trip {trip_id!r} of the trip update is not in "
                           "the active schedule.", field="trip_id", value=trip_id)
            continue
        # A frequency-based trip is a template: its start_time names the run (GTFS-RT
        # TripDescriptor: required for such trips), the nearest of the runs frequencies.txt
        # makes; the schedule of that run is the template moved to its start.
        shift = 0
        if trip_id in periods:
            run_start = _run_start(trip.get("start_time"), periods[trip_id])
            if run_start is None:
                unmatched += 1
                tu["matched"] = False
                report.warning("unmatched_trip", f"Trip {trip_id!r} runs by frequencies.txt: "
                               "its trip update needs a start_time within one of the trip's "
                               "periods to name a run.", field="start_time",
                               value=trip.get("start_time"))
                continue
            tu["run_start"] = run_start
            shift = run_start - _first_departure(stops)
        matched += 1
        tu["matched"] = True
        service_day = _service_day(trip, stops, tz, feed_timestamp, shift)
        tu["service_date"] = service_day.isoformat() if service_day else None
        origin = (service_day_origin(service_day, tz).timestamp() + shift if service_day
                  else None)
        # A stop named without its sequence is its first visit after the previous update's
        # stop (GTFS-RT: a trip's stop time updates come in stop_sequence order), so a loop
        # trip's start and end at one stop (which should carry sequences) are told apart.
        visits: dict[str, list[int]] = {}
        for seq in sorted(stops):
            visits.setdefault(stops[seq][0], []).append(seq)
        previous = None
        for stu in tu["stop_time_updates"]:
            seq = stu["stop_sequence"]
            if seq is None and stu["stop_id"] is not None:
                seen = visits.get(stu["stop_id"], ())
                seq = next((s for s in seen if previous is None or s > previous), None)
                stu["stop_sequence"] = seq
                if len(seen) > 1 and seq is not None:
                    report.warning("ambiguous_stop", f"Trip {trip_id!r} visits stop "
                                   f"{stu['stop_id']!r} {len(seen)} times and the update names "
                                   "no stop_sequence (GTFS-Realtime asks for one then); taken "
                                   f"as the visit at sequence {seq}, the first after the "
                                   "previous update's stop.", field="stop_sequence",
                                   value=stu["stop_id"])
            if seq is not None:
                previous = seq
            scheduled = stops.get(seq) if seq is not None else None
            if scheduled is None or (stu["stop_id"] and stu["stop_id"] != scheduled[0]):
                report.warning("unmatched_stop", f"Stop {stu['stop_id']!r} (sequence {seq}) "
                               f"of trip {trip_id!r} is not in its schedule.", field="stop_id",
                               value=stu["stop_id"])
                continue
            stu["stop_id"] = scheduled[0]
            # GTFS-RT StopTimeEvent: delay may be given, or only an absolute time.
            for event_name, secs in (("arrival", scheduled[1]), ("departure", scheduled[2])):
                event = stu[event_name]
                if event and event["delay"] is None and event["time"] is not None \
                        and origin is not None and secs is not None:
                    event["delay"] = int(event["time"] - (origin + secs))
    return matched, unmatched


def _stored_as(tu: dict[str, Any]) -> str:
    """A trip update's field in the ``trip_updates`` hash: its run's (``trip_update_key``),
    its trip's, or without a trip id its entity's."""
    if tu.get("run_start") is not None:
        return trip_update_key(tu["trip"]["trip_id"], tu.get("service_date"), tu["run_start"])
    return tu["trip"]["trip_id"] or tu["entity_id"]


def _frequency_periods(session: Session, version_id: int, trip_ids: set[str]
                       ) -> dict[str, list[tuple[int, int, int]]]:
    """The (start, end, headway) periods of those of the trips that are frequency-based."""
    periods: dict[str, list[tuple[int, int, int]]] = {}
    for trip_id, start, end, headway in session.execute(
            sa.select(TransitFrequency.trip_id, TransitFrequency.start_secs,
                      TransitFrequency.end_secs, TransitFrequency.headway_secs)
            .where(TransitFrequency.feed_version_id == version_id,
                   TransitFrequency.trip_id.in_(sorted(trip_ids)))
            .order_by(TransitFrequency.trip_id, TransitFrequency.start_secs)):
        periods.setdefault(trip_id, []).append((start, end, headway))
    return periods


def _run_start(start_time: str | None, periods: list[tuple[int, int, int]]) -> int | None:
    """The run of a frequency-based trip a trip descriptor's start_time names: the start of
    the nearest run (runs start every headway from a period's start while before its end),
    if within half a headway of it; None without a start_time or when no run is that near.

    With exact_times=1 the start_time is a run's own start; with exact_times=0 it is the
    trip's actual start, which may stray from the headway's grid.
    """
    secs = parse_time(start_time) if start_time else None
    if secs is None:
        return None
    best: tuple[int, int] | None = None  # (distance, run start)
    for start, end, headway in periods:
        if headway <= 0 or end <= start:
            continue
        last = start + (end - 1 - start) // headway * headway
        run = min(max(start + round((secs - start) / headway) * headway, start), last)
        if abs(secs - run) * 2 <= headway and (best is None or abs(secs - run) < best[0]):
            best = (abs(secs - run), run)
    return None if best is None else best[1]


def _first_departure(stops: dict[int, tuple]) -> int:
    """A trip's first departure (its template's start, for a frequency-based trip)."""
    return min((v[2] for v in stops.values() if v[2] is not None), default=0)


def _service_day(trip: dict[str, Any], stops: dict[int, tuple], tz: Any,
                 feed_timestamp: int | None, shift: int = 0) -> date | None:
    if trip.get("start_date"):
        raw = trip["start_date"]
        try:
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        except ValueError:
            return None
    if not feed_timestamp:
        return None
    # No start_date: the service day whose run of this trip is nearest the feed's time.
    moment = datetime.fromtimestamp(feed_timestamp, tz)
    first = _first_departure(stops) + shift
    candidates = [moment.date() - timedelta(days=1), moment.date()]
    return min(candidates, key=lambda d: abs(
        service_day_origin(d, tz).timestamp() + first - feed_timestamp))


def _check_timestamp(timestamp: int | None, now: datetime, ttl: int, report: Any) -> None:
    """Warn about a header timestamp that is missing, ahead of our clock, or older than the
    entities' expiry (GTFS-RT FeedHeader: timestamp is required, POSIX seconds, UTC)."""
    if not timestamp:
        report.warning("missing_feed_timestamp", "The feed header has no timestamp (GTFS-"
                       "Realtime requires one); its age cannot be told.", field="timestamp")
        return
    age = now.timestamp() - timestamp
    moment = datetime.fromtimestamp(timestamp, now.tzinfo).isoformat()
    if age < -FUTURE_TOLERANCE_SECONDS:
        report.warning("feed_timestamp_in_future", f"The feed header's timestamp {moment} is "
                       f"{int(-age)} s ahead of the hub's clock.", field="timestamp",
                       value=timestamp)
    elif age > ttl:
        report.warning("stale_feed", f"The feed header's timestamp {moment} is {int(age)} s "
                       f"old, more than the {ttl} s its entities are kept; they may be out "
                       "of date.", field="timestamp", value=timestamp)


def _known(session: Session, column: Any, static_version: int, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(session.scalars(sa.select(column).where(
        column.table.c.feed_version_id == static_version, column.in_(sorted(ids)))))


def _check_references(session: Session, static_version: int | None,
                      trip_updates: list[dict[str, Any]], vehicles: list[dict[str, Any]],
                      alerts: list[dict[str, Any]], report: Any) -> None:
    """Report the trips, routes and stops that vehicles, alerts and trip descriptors name but
    the active schedule does not have (trip updates' own trips and stops are matched above)."""
    if static_version is None:
        return
    trips: dict[str, str] = {}
    routes: dict[str, str] = {}
    stops: dict[str, str] = {}
    for tu in trip_updates:
        if tu["trip"]["route_id"]:
            routes.setdefault(tu["trip"]["route_id"], "a trip update")
    for vehicle in vehicles:
        trip = vehicle["trip"] or {}
        if trip.get("trip_id"):
            trips.setdefault(trip["trip_id"], "a vehicle position")
        if trip.get("route_id"):
            routes.setdefault(trip["route_id"], "a vehicle position")
        if vehicle["stop_id"]:
            stops.setdefault(vehicle["stop_id"], "a vehicle position")
    for alert in alerts:
        for selector in alert["informed"]:
            for ids, name in ((trips, "trip_id"), (routes, "route_id"), (stops, "stop_id")):
                if selector[name]:
                    ids.setdefault(selector[name], f"alert {alert['entity_id']!r}")
    known_trips = version_trips(session, static_version) if trips else ()
    checks = (("unmatched_trip", "Trip", "trip_id", trips, None),
              ("unmatched_route", "Route", "route_id", routes, TransitRoute.route_id),
              ("unmatched_stop", "Stop", "stop_id", stops, TransitStop.stop_id))
    for code, noun, field, named, column in checks:
        known = ({t for t in named if t in known_trips} if column is None
                 else _known(session, column, static_version, set(named)))
        for value in sorted(set(named) - known):
            report.warning(code, f"{noun} {value!r} of {named[value]} is not in the active "
                           "schedule.", field=field, value=value)


# --- reading, for the query services ---------------------------------------------------------


def trip_updates(live: Any, provider: str, trip_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored trip updates of some trips (one HMGET)."""
    if not trip_ids:
        return {}
    values = live.hmget(key(provider, "trip_updates"), trip_ids)
    return {t: json.loads(v) for t, v in zip(trip_ids, values, strict=True) if v}


def vehicles(live: Any, providers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every stored vehicle position per provider (one pipelined round trip)."""
    pipe = live.pipeline(transaction=False)
    for provider in providers:
        pipe.hvals(key(provider, "vehicles"))
    return {p: [json.loads(v) for v in values]
            for p, values in zip(providers, pipe.execute(), strict=True)}


def alerts(live: Any, providers: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every stored alert per provider (one MGET)."""
    if not providers:
        return {}
    values = live.mget([key(p, "alerts") for p in providers])
    return {p: json.loads(v) if v else [] for p, v in zip(providers, values, strict=True)}
