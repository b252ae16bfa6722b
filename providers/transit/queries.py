"""Query services behind the transit API: stops, departures, routes, trips, vehicles, alerts.

Only the active version of each provider's GTFS feed is read. Public ids are
``<provider>:<gtfs id>`` (the provider slug never holds a colon, so the first one splits).
Lists page with opaque cursors. Errors are ``app.errors.Problem`` so the API answers
problem+json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db import unicode_lower
from app.errors import Problem
from providers.geo import box_around, geodesic_distances
from providers.models import Feed, FeedVersion, Provider
from providers.pagination import decode_cursor, encode_cursor
from providers.transit import live as rt
from providers.transit.models import (
    TransitAgency,
    TransitFrequency,
    TransitPattern,
    TransitPatternStop,
    TransitRoute,
    TransitStop,
)
from providers.transit.schedule import (
    active_services,
    at_service_time,
    service_day_origin,
    services_by_day,
    zone,
)
from providers.transit.timetable import INDEX, TIME, trip_stop_times
from providers.transit.trips import VersionTrips, version_trips

LOCATION_TYPES = {0: "stop", 1: "station", 2: "entrance", 3: "node", 4: "boarding_area"}


@dataclass(frozen=True)
class ActiveFeed:
    """A provider's active GTFS version."""

    version_id: int
    provider: str
    timezone: str


def active_feeds(session: Session) -> list[ActiveFeed]:
    """Every provider's active GTFS version with its agency time zone."""
    tz = (sa.select(TransitAgency.timezone)
          .where(TransitAgency.feed_version_id == Feed.active_version_id)
          .limit(1).scalar_subquery())
    rows = session.execute(
        sa.select(Feed.active_version_id, Provider.slug, tz)
        .join(Provider, Provider.id == Feed.provider_id)
        .where(Feed.format == "gtfs", Feed.active_version_id.is_not(None))
        .order_by(Provider.slug)
    ).all()
    return [ActiveFeed(v, slug, t or "UTC") for v, slug, t in rows]


def _split_id(public_id: str, kind: str) -> tuple[str, str]:
    provider, sep, local = public_id.partition(":")
    if not sep or not provider or not local:
        raise Problem(404, "not-found", "Not Found",
                      f"No {kind} {public_id!r}: ids look like 'provider:{kind}_id'.")
    return provider, local


def _feed_for(session: Session, public_id: str, kind: str) -> tuple[ActiveFeed, str]:
    provider, local = _split_id(public_id, kind)
    for feed in active_feeds(session):
        if feed.provider == provider:
            return feed, local
    raise Problem(404, "not-found", "Not Found", f"No {kind} {public_id!r}.")


# --- stops ------------------------------------------------------------------------------------


def _stop_dict(stop: TransitStop, provider: str, distance: float | None = None
               ) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"{provider}:{stop.stop_id}",
        "provider": provider,
        "stop_id": stop.stop_id,
        "code": stop.code,
        "name": stop.name,
        "description": stop.description,
        "location_type": LOCATION_TYPES.get(stop.location_type, "stop"),
        "parent_station": f"{provider}:{stop.parent_station}" if stop.parent_station else None,
        "platform_code": stop.platform_code,
        "wheelchair_boarding": stop.wheelchair_boarding,
        "location": ({"type": "Point", "coordinates": [stop.lon, stop.lat]}
                     if stop.lat is not None and stop.lon is not None else None),
    }
    if distance is not None:
        item["distance"] = round(distance, 1)
    return item


def list_stops(session: Session, *, lat: float | None = None, lon: float | None = None,
               radius: float = 500.0, bbox: tuple[float, float, float, float] | None = None,
               q: str | None = None, limit: int = 50, cursor: str | None = None
               ) -> dict[str, Any]:
    """Stops near a point (sorted by distance), in a box, or by name, one page at a time."""
    feeds = {f.version_id: f.provider for f in active_feeds(session)}
    near = lat is not None and lon is not None
    filters = {"lat": lat, "lon": lon, "radius": radius if near else None, "bbox": bbox, "q": q}
    position = decode_cursor(cursor, {"offset": int} if near else {"after": int},
                             query=filters)
    if not feeds:
        return {"items": [], "next_cursor": None}
    query = sa.select(TransitStop).where(TransitStop.feed_version_id.in_(feeds))
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        query = query.where(unicode_lower(TransitStop.name).like(pattern, escape="\\"))
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        query = query.where(TransitStop.lat.between(min_lat, max_lat),
                            _lon_between(TransitStop.lon, min_lon, max_lon))
    if near:
        # Bounding-box prefilter on the indexed columns, then the exact geodesic distance on
        # WGS84 for every candidate at once (providers.geo).
        min_lat, min_lon, max_lat, max_lon = box_around(lat, lon, radius)
        query = query.where(TransitStop.lat.between(min_lat, max_lat))
        if max_lon - min_lon < 360:  # a box over the antimeridian wraps round to the far side
            query = query.where(_lon_between(TransitStop.lon, _wrap(min_lon), _wrap(max_lon)))
        candidates = session.scalars(query).all()
        distances = geodesic_distances(lat, lon, [stop.lat for stop in candidates],
                                       [stop.lon for stop in candidates])
        found = sorted(((distance, stop.id, stop)
                        for distance, stop in zip(distances, candidates, strict=True)
                        if distance <= radius), key=lambda item: (item[0], item[1]))
        offset = position.get("offset", 0)
        page = found[offset:offset + limit]
        more = offset + limit < len(found)
        return {
            "items": [_stop_dict(s, feeds[s.feed_version_id], d) for d, _, s in page],
            "next_cursor": encode_cursor({"offset": offset + limit}, filters) if more else None,
        }
    after = position.get("after", 0)
    stops = session.scalars(
        query.where(TransitStop.id > after).order_by(TransitStop.id).limit(limit + 1)).all()
    more = len(stops) > limit
    stops = stops[:limit]
    return {
        "items": [_stop_dict(s, feeds[s.feed_version_id]) for s in stops],
        "next_cursor": encode_cursor({"after": stops[-1].id}, filters) if more else None,
    }


def _wrap(lon: float) -> float:
    """A longitude brought into [-180, 180)."""
    return (lon + 180) % 360 - 180


def _lon_between(column: Any, west: float, east: float) -> Any:
    """``west <= column <= east``; when west is east of east the range crosses the
    antimeridian (RFC 7946 section 5.2) and is two ranges."""
    if west <= east:
        return column.between(west, east)
    return sa.or_(column >= west, column <= east)


def _in_box(lon: float, lat: float, bbox: tuple[float, float, float, float]) -> bool:
    """Whether a point lies in a bbox, which may cross the antimeridian."""
    west, south, east, north = bbox
    inside_lon = west <= lon <= east if west <= east else (lon >= west or lon <= east)
    return inside_lon and south <= lat <= north


def get_stop(session: Session, public_id: str) -> dict[str, Any]:
    """One stop by its public id."""
    feed, stop_id = _feed_for(session, public_id, "stop")
    stop = _stop_row(session, feed, stop_id, public_id)
    return _stop_dict(stop, feed.provider)


def _stop_row(session: Session, feed: ActiveFeed, stop_id: str, public_id: str
              ) -> TransitStop:
    stop = session.scalar(sa.select(TransitStop).where(
        TransitStop.feed_version_id == feed.version_id, TransitStop.stop_id == stop_id))
    if stop is None:
        raise Problem(404, "not-found", "Not Found", f"No stop {public_id!r}.")
    return stop


# --- departures -------------------------------------------------------------------------------
#
# The hot path of the API: three SQL round trips in the steady state (the stop with its
# platforms; the pattern stops there with their packed, sorted departures, binary-searched per
# service day in numpy; the few trips shown), Core rows instead of ORM objects, and
# per-version facts (services per day and their indexes, frequency templates) cached in
# process. A feed version's
# records never change after its import, so a cache keyed by the version's id, content hash and
# import time can never serve stale data; a new import is a new key.

_STOP_COLUMNS = (TransitStop.stop_id, TransitStop.code, TransitStop.name, TransitStop.description,
                 TransitStop.location_type, TransitStop.parent_station,
                 TransitStop.platform_code, TransitStop.wheelchair_boarding, TransitStop.lat,
                 TransitStop.lon)
# Bounds of the in-process caches (entries; a full cache is cleared, see _remember).
_CACHE_LIMIT = 4096
_VERSION_CACHE_LIMIT = 64
PREFETCH_DAYS_BEFORE, PREFETCH_DAYS_AFTER = 3, 10
_services_cache: dict[tuple[Any, date], frozenset[str]] = {}
_frequency_cache: dict[Any, Any] = {}
_route_cache: dict[Any, dict[str, dict[str, Any]]] = {}
_statements: dict[Any, Any] = {}


def _stop_and_platforms_query() -> Any:
    """The provider's active version (id, hash, import time, time zone) with the stop and the
    stops whose parent station it is; built once."""
    if "stop" in _statements:
        return _statements["stop"]
    version = (sa.select(Feed.active_version_id)
               .join(Provider, Provider.id == Feed.provider_id)
               .where(Provider.slug == sa.bindparam("provider"), Feed.format == "gtfs",
                      Feed.active_version_id.is_not(None))
               .order_by(Feed.id).limit(1).scalar_subquery())
    tz = (sa.select(TransitAgency.timezone)
          .where(TransitAgency.feed_version_id == FeedVersion.id)
          .limit(1).scalar_subquery().label("timezone"))
    # The stop itself and, should it be a station, its platforms (parent_station).
    _statements["stop"] = (
        sa.select(FeedVersion.id, FeedVersion.content_sha256, FeedVersion.imported_at, tz,
                  *_STOP_COLUMNS)
        .join(TransitStop, TransitStop.feed_version_id == FeedVersion.id)
        .where(FeedVersion.id == version,
               sa.or_(TransitStop.stop_id == sa.bindparam("stop_id"),
                      TransitStop.parent_station == sa.bindparam("stop_id"))))
    return _statements["stop"]


def _remember(cache: dict, key: Any, value: Any, limit: int = _CACHE_LIMIT) -> Any:
    if len(cache) >= limit:
        cache.clear()  # versions come and go; a rare full reset keeps this bounded and simple
    cache[key] = value
    return value


def _services(session: Session, version_key: tuple, days: list[date]
              ) -> dict[date, frozenset[str]]:
    """Services running on each day, from the in-process cache or one query per table."""
    found = {d: _services_cache.get((version_key, d)) for d in days}
    missing = [d for d, services in found.items() if services is None]
    if missing:
        # Boards are asked for around the same dates, so a miss fills a fortnight at once.
        first = min(missing) - timedelta(days=PREFETCH_DAYS_BEFORE)
        span = (max(missing) - first).days + 1 + PREFETCH_DAYS_AFTER
        window = [first + timedelta(days=n) for n in range(span)]
        for day, services in services_by_day(session, version_key[0], window).items():
            _remember(_services_cache, (version_key, day), services)
            if day in found:
                found[day] = services
    return found  # type: ignore[return-value]


def _routes(session: Session, version_key: tuple) -> dict[str, dict[str, Any]]:
    """A version's routes as departures show them (route tables are small), cached."""
    cached = _route_cache.get(version_key)
    if cached is None:
        cached = {route_id: {"short_name": short, "long_name": long_, "type": kind,
                             "color": color}
                  for route_id, short, long_, kind, color in session.execute(
                      sa.select(TransitRoute.route_id, TransitRoute.short_name,
                                TransitRoute.long_name, TransitRoute.route_type,
                                TransitRoute.color)
                      .where(TransitRoute.feed_version_id == version_key[0]))}
        _remember(_route_cache, version_key, cached, limit=_VERSION_CACHE_LIMIT)
    return cached


class _Frequencies(NamedTuple):
    """A version's frequency-based trips: by trip index, (trip id, first departure, periods)."""

    trips: dict[int, tuple[str, int, list[tuple[int, int, int]]]]
    indexes: Any  # their trip indexes, a sorted numpy array


def _frequencies(session: Session, version_key: tuple) -> _Frequencies:
    """Per frequency-based trip: its first departure and its (start, end, headway) periods."""
    cached = _frequency_cache.get(version_key)
    if cached is not None:
        return cached
    version_id = version_key[0]
    periods: dict[str, list[tuple[int, int, int]]] = {}
    for trip_id, start, end, headway in session.execute(
            sa.select(TransitFrequency.trip_id, TransitFrequency.start_secs,
                      TransitFrequency.end_secs, TransitFrequency.headway_secs)
            .where(TransitFrequency.feed_version_id == version_id)
            .order_by(TransitFrequency.trip_id, TransitFrequency.start_secs)):
        periods.setdefault(trip_id, []).append((start, end, headway))
    trips: dict[int, tuple[str, int, list[tuple[int, int, int]]]] = {}
    if periods:
        version = version_trips(session, version_id, version_key)
        indexes = {trip_id: version.index_of[trip_id] for trip_id in version.frequency_based}
        for trip_id, stop_times in trip_stop_times(session, version_id, list(indexes),
                                                   trips=version).items():
            if trip_id in periods:
                first = min((st.departure_secs for st in stop_times
                             if st.departure_secs is not None), default=0)
                trips[indexes[trip_id]] = (trip_id, first, periods[trip_id])
    found = _Frequencies(trips, np.array(sorted(trips), np.int32))
    return _remember(_frequency_cache, version_key, found, limit=_VERSION_CACHE_LIMIT)


def _pattern_stops_statement() -> Any:
    """The pattern stops at some stops where passengers may board, with their departures.

    Not where boarding is impossible: a pickup type of 1 ("no pickup available"), or the last
    stop of the pattern, where its trips end (they arrive, they do not depart).
    """
    if "pattern_stops" not in _statements:
        ps, pattern = TransitPatternStop, TransitPattern
        _statements["pattern_stops"] = (
            sa.select(ps.stop_id, ps.stop_sequence, ps.stop_headsign, ps.departure_secs,
                      ps.trip_indexes)
            .join(pattern, sa.and_(pattern.feed_version_id == ps.feed_version_id,
                                   pattern.pattern_id == ps.pattern_id))
            .where(ps.feed_version_id == sa.bindparam("version"),
                   ps.stop_id.in_(sa.bindparam("stops", expanding=True)),
                   ps.position < pattern.stop_count - 1,
                   sa.or_(ps.pickup_type.is_(None), ps.pickup_type != 1)))
    return _statements["pattern_stops"]


class _Board(NamedTuple):
    """One pattern stop's departures, unpacked (numpy views of the stored bytes)."""

    stop_id: str
    stop_sequence: int
    stop_headsign: str | None
    departures: Any
    trips: Any


def departures(session: Session, live: Any, public_id: str, *, at: datetime | None = None,
               window_minutes: int = 60, limit: int = 20) -> dict[str, Any]:
    """Departures from a stop (and a station's platforms) from ``at`` over a time window."""
    provider, stop_id = _split_id(public_id, "stop")
    connection = session.connection()
    rows = connection.execute(_stop_and_platforms_query(),
                              {"provider": provider, "stop_id": stop_id}).all()
    stop = next((r for r in rows if r.stop_id == stop_id), None)
    if stop is None:
        raise Problem(404, "not-found", "Not Found", f"No stop {public_id!r}.")
    version_key = (stop.id, stop.content_sha256, stop.imported_at)
    feed = ActiveFeed(stop.id, provider, stop.timezone or "UTC")
    tz = zone(feed.timezone)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=tz)  # a time without offset is the agency's local time
    moment = (at or datetime.now(UTC)).astimezone(tz)
    # Arithmetic in UTC: on aware datetimes of one zone Python adds and subtracts wall-clock
    # time, an hour off across a clock change.
    start = moment.astimezone(UTC)
    until = (start + timedelta(minutes=window_minutes)).astimezone(tz)
    stop_ids = [stop_id]
    if stop.location_type == 1:
        stop_ids += [r.stop_id for r in rows if r.parent_station == stop_id]

    # Trips of the previous service day run past midnight (times over 24:00:00); a window
    # reaching past midnight needs the next one.
    candidates = sorted({moment.date() - timedelta(days=1), moment.date(), until.date()})
    services = _services(session, version_key, candidates)
    days: list[tuple[date, datetime, int, int]] = []
    for day in candidates:
        if not services[day]:
            continue
        origin = service_day_origin(day, tz)  # UTC
        low = max(0, int((start - origin).total_seconds()))
        high = int((start - origin).total_seconds()) + window_minutes * 60
        if high >= 0:
            days.append((day, origin, low, high))

    found: list[dict[str, Any]] = []
    if days:
        boards = [_Board(r.stop_id, r.stop_sequence, r.stop_headsign,
                         np.frombuffer(r.departure_secs, TIME),
                         np.frombuffer(r.trip_indexes, INDEX))
                  for r in connection.execute(_pattern_stops_statement(),
                                              {"version": feed.version_id, "stops": stop_ids})]
        frequencies = _frequencies(session, version_key)
        version = version_trips(session, feed.version_id, version_key)
        scheduled, templates = _candidates(boards, days, services, version, frequencies, limit)
        trips = version.at({c[2] for c in scheduled} | {t for _, t, _ in templates})
        routes = _routes(session, version_key)
        # (day, secs, trip index, board, run start or None) of every departure that may be
        # shown; only the first ``limit`` by time (then trip id) become dicts.
        shown = [c for c in scheduled if trips[c[2]].route_id in routes]  # an inner join
        for day_i, trip_index, b in templates:
            if trips[trip_index].route_id in routes:
                shown += _frequency_runs(day_i, days[day_i], trip_index, b, boards[b],
                                         frequencies.trips[trip_index], limit)
        origins = [origin.timestamp() for _, origin, _, _ in days]
        shown.sort(key=lambda c: (origins[c[0]] + c[1], trips[c[2]].trip_id))
        found = [_departure(feed, days[i][0], days[i][1], trips[t], boards[b], secs, routes,
                            run)
                 for i, secs, t, b, run in shown[:limit]]
    _apply_realtime(live, feed.provider, found, tz)
    for item in found:
        del item["_at"], item["_run"]
    return {"stop": _stop_dict(stop, feed.provider), "time": moment.isoformat(),
            "timezone": feed.timezone, "items": found}


def _candidates(boards: list[_Board], days: list[tuple[date, datetime, int, int]],
                services: dict[date, frozenset[str]], trips: VersionTrips,
                frequencies: _Frequencies, limit: int
                ) -> tuple[list[tuple[int, int, int, int, None]], list[tuple[int, int, int]]]:
    """The departures a board may show: per service day, the scheduled ones in its window
    (the first ``limit`` by time, ties at the cut included) as (day, secs, trip index, board,
    None: no run), and the frequency-based templates running that day as (day, trip index,
    board)."""
    scheduled: list[tuple[int, int, int, int, None]] = []
    templates: list[tuple[int, int, int]] = []
    frequent = frequencies.indexes
    service_index, service_of = trips.service_index, trips.service_of
    for i, (day, _, low, high) in enumerate(days):
        active = np.zeros(len(service_index) + 1, bool)
        active[[service_index[s] for s in services[day] if s in service_index]] = True
        secs_parts, trip_parts, board_parts = [], [], []
        for b, board in enumerate(boards):
            deps, trips = board.departures, board.trips
            svcs = service_of[trips]
            repeated = None
            if len(frequent):
                repeated = np.isin(trips, frequent)
                templates += [(i, t, b) for t in
                              np.unique(trips[repeated & active[svcs]]).tolist()]
            # Departures sorted by time: the window is one slice.
            start, stop = np.searchsorted(deps, (low, high + 1)).tolist()
            if start == stop:
                continue
            keep = active[svcs[start:stop]]
            if repeated is not None:
                keep &= ~repeated[start:stop]
            secs_parts.append(deps[start:stop][keep])
            trip_parts.append(trips[start:stop][keep])
            board_parts.append(np.full(int(keep.sum()), b, np.int32))
        if not secs_parts:
            continue
        secs = np.concatenate(secs_parts)
        trips = np.concatenate(trip_parts)
        where = np.concatenate(board_parts)
        if len(secs) > limit:
            cut = np.partition(secs, limit - 1)[limit - 1]
            chosen = secs <= cut
            secs, trips, where = secs[chosen], trips[chosen], where[chosen]
        scheduled += [(i, s, t, b, None) for s, t, b in zip(secs.tolist(), trips.tolist(),
                                                       where.tolist(), strict=True)]
    return scheduled, templates


def _departure(feed: ActiveFeed, day: date, origin: datetime, trip: Any, board: _Board,
               secs: int, routes: dict[str, dict[str, Any]], run: int | None = None
               ) -> dict[str, Any]:
    # GTFS time counts from the service day's origin (noon minus 12h, in UTC): real seconds,
    # shown in the agency's zone. ``run``: the start of the run of a frequency-based trip.
    when = origin + timedelta(seconds=secs)
    provider = feed.provider
    return {
        "_at": when,
        "_run": run,
        "trip_id": trip.trip_id,
        "trip": f"{provider}:{trip.trip_id}",
        "stop": f"{provider}:{board.stop_id}",
        "stop_sequence": board.stop_sequence,
        "service_date": day.isoformat(),
        "route": {"id": f"{provider}:{trip.route_id}", **routes[trip.route_id]},
        "headsign": board.stop_headsign or trip.headsign,
        "scheduled": when.astimezone(zone(feed.timezone)).isoformat(),
        "estimated": None,
        "delay": None,
        "cancelled": False,
        "realtime": False,
    }


def _frequency_runs(day_i: int, day: tuple[date, datetime, int, int], trip_index: int,
                    b: int, board: _Board, frequency: tuple[str, int, list[tuple[int, int, int]]],
                    limit: int) -> list[tuple[int, int, int, int, int]]:
    """The runs of a frequency-based trip from a board in a day's window, as
    (day, secs, trip index, board, the run's start) like the scheduled departures."""
    # frequencies.txt: the trip's stop_times are a template; each run starts every headway
    # between start_time and end_time, keeping the template's offsets from its first stop.
    # The board shows at most ``limit`` departures, so each period yields at most its first
    # ``limit`` runs in the window: a cap shared by all templates would let one frequent trip
    # crowd out the earlier runs of the others.
    _, _, low, high = day
    found: list[tuple[int, int, int, int, int]] = []
    _, first, periods = frequency
    for template in board.departures[board.trips == trip_index].tolist():
        offset = template - first
        for start_secs, end_secs, headway in periods:
            # Runs start at start + k*headway while before end_time.
            k = max(0, math.ceil((low - offset - start_secs) / headway))
            start = start_secs + k * headway
            runs = 0
            while start < end_secs and start + offset <= high and runs < limit:
                found.append((day_i, start + offset, trip_index, b, start))
                start += headway
                runs += 1
    return found


def _realtime_for_stop(update: dict[str, Any], sequence: int) -> tuple[int | None, bool]:
    """(delay in seconds, skipped) at a stop of a matched trip update.

    GTFS-RT TripUpdate: a StopTimeUpdate's delay propagates to the following stops until the
    next update; NO_DATA stops the propagation; SKIPPED and a CANCELED trip mean no departure.
    """
    if update.get("trip", {}).get("schedule_relationship") == "CANCELED":
        return None, True
    delay = update.get("delay")
    for stu in update.get("stop_time_updates", []):
        seq = stu.get("stop_sequence")
        if seq is None or seq > sequence:
            continue
        relationship = stu.get("schedule_relationship")
        if seq == sequence and relationship == "SKIPPED":
            return None, True
        if relationship == "NO_DATA":
            delay = None
            continue
        event = stu.get("departure") or stu.get("arrival")
        if event and event.get("delay") is not None:
            delay = event["delay"]
    return delay, False


def _apply_realtime(live: Any, provider: str, items: list[dict[str, Any]], tz: Any) -> None:
    if live is None or not items:
        return
    # A run of a frequency-based trip has updates of its own (by its service date, or when the
    # update could not tell the day, by its start alone); other trips, one per trip.
    keys = {id(item): ([rt.trip_update_key(item["trip_id"], item["service_date"], item["_run"]),
                        rt.trip_update_key(item["trip_id"], None, item["_run"])]
                       if item["_run"] is not None else [item["trip_id"]]) for item in items}
    updates = rt.trip_updates(live, provider, sorted({k for ks in keys.values() for k in ks}))
    for item in items:
        update = next((updates[k] for k in keys[id(item)] if k in updates), None)
        if not update or not update.get("matched"):
            continue
        if update.get("service_date") and update["service_date"] != item["service_date"]:
            continue
        delay, cancelled = _realtime_for_stop(update, item["stop_sequence"])
        item["realtime"] = True
        item["cancelled"] = cancelled
        if delay is not None and not cancelled:
            item["delay"] = delay
            item["estimated"] = (item["_at"] + timedelta(seconds=delay)).astimezone(tz).isoformat()


# --- routes and trips -------------------------------------------------------------------------


def _route_dict(route: TransitRoute, provider: str) -> dict[str, Any]:
    return {
        "id": f"{provider}:{route.route_id}", "provider": provider, "route_id": route.route_id,
        "agency_id": route.agency_id, "short_name": route.short_name,
        "long_name": route.long_name, "description": route.description,
        "type": route.route_type, "url": route.url, "color": route.color,
        "text_color": route.text_color,
    }


def list_routes(session: Session, *, route_type: int | None = None, limit: int = 50,
                cursor: str | None = None) -> dict[str, Any]:
    """Routes of every active feed, ordered by provider and route id."""
    feeds = {f.version_id: f.provider for f in active_feeds(session)}
    filters = {"route_type": route_type}
    position = decode_cursor(cursor, {"v": int, "r": str}, query=filters)
    if not feeds:
        return {"items": [], "next_cursor": None}
    query = sa.select(TransitRoute).where(TransitRoute.feed_version_id.in_(feeds))
    if route_type is not None:
        query = query.where(TransitRoute.route_type == route_type)
    if position:
        version, route_id = position["v"], position["r"]
        query = query.where(sa.or_(TransitRoute.feed_version_id > version, sa.and_(
            TransitRoute.feed_version_id == version, TransitRoute.route_id > route_id)))
    routes = session.scalars(query.order_by(TransitRoute.feed_version_id, TransitRoute.route_id)
                             .limit(limit + 1)).all()
    more = len(routes) > limit
    routes = routes[:limit]
    return {
        "items": [_route_dict(r, feeds[r.feed_version_id]) for r in routes],
        "next_cursor": encode_cursor({"v": routes[-1].feed_version_id,
                                      "r": routes[-1].route_id}, filters) if more else None,
    }


def get_route(session: Session, public_id: str) -> dict[str, Any]:
    """One route with its agency."""
    feed, route_id = _feed_for(session, public_id, "route")
    route = session.get(TransitRoute, (feed.version_id, route_id))
    if route is None:
        raise Problem(404, "not-found", "Not Found", f"No route {public_id!r}.")
    item = _route_dict(route, feed.provider)
    agency = session.get(TransitAgency, (feed.version_id, route.agency_id or ""))
    item["agency"] = ({"name": agency.name, "url": agency.url, "timezone": agency.timezone}
                      if agency else None)
    return item


def get_trip(session: Session, live: Any, public_id: str, *, service_date: date | None = None
             ) -> dict[str, Any]:
    """A trip's stops in order with scheduled times on a service day and real-time estimates."""
    feed, trip_id = _feed_for(session, public_id, "trip")
    version = version_trips(session, feed.version_id)
    trip = version.get(trip_id)
    if trip is None:
        raise Problem(404, "not-found", "Not Found", f"No trip {public_id!r}.")
    tz = zone(feed.timezone)
    day = service_date or datetime.now(tz).date()
    route = session.get(TransitRoute, (feed.version_id, trip.route_id))
    runs = trip.service_id in active_services(session, feed.version_id, day)
    update = rt.trip_updates(live, feed.provider, [trip_id]).get(trip_id) if live else None
    if update and (not update.get("matched")
                   or update.get("service_date") not in (None, day.isoformat())):
        update = None  # an update not matched to the schedule changes nothing shown
    stops = []
    stop_times = trip_stop_times(session, feed.version_id, [trip_id],
                                 trips=version).get(trip_id, [])
    names = dict(session.execute(
        sa.select(TransitStop.stop_id, TransitStop.name)
        .where(TransitStop.feed_version_id == feed.version_id,
               TransitStop.stop_id.in_(sorted({st.stop_id for st in stop_times})))).all()
                 ) if stop_times else {}
    for stop_time in stop_times:
        item: dict[str, Any] = {
            "stop": f"{feed.provider}:{stop_time.stop_id}", "name": names.get(stop_time.stop_id),
            "stop_sequence": stop_time.stop_sequence,
            "arrival": _iso(day, stop_time.arrival_secs, tz),
            "departure": _iso(day, stop_time.departure_secs, tz),
            "estimated_departure": None, "delay": None, "cancelled": False,
        }
        if update:
            delay, cancelled = _realtime_for_stop(update, stop_time.stop_sequence)
            item["cancelled"] = cancelled
            if delay is not None and not cancelled and stop_time.departure_secs is not None:
                item["delay"] = delay
                item["estimated_departure"] = _iso(day, stop_time.departure_secs + delay, tz)
        stops.append(item)
    return {
        "id": public_id, "provider": feed.provider, "trip_id": trip_id,
        "route": _route_dict(route, feed.provider) if route else None,
        "headsign": trip.headsign, "direction_id": trip.direction_id,
        "service_date": day.isoformat(), "runs_on_service_date": runs,
        "frequency_based": trip.frequency_based, "realtime": bool(update), "stops": stops,
    }


def _iso(day: date, secs: int | None, tz: Any) -> str | None:
    return None if secs is None else at_service_time(day, secs, tz).isoformat()


# --- vehicles and alerts ----------------------------------------------------------------------


def list_vehicles(session: Session, live: Any,
                  bbox: tuple[float, float, float, float] | None = None) -> dict[str, Any]:
    """Live vehicle positions of every provider, optionally inside a box."""
    providers = sorted({f.provider for f in active_feeds(session)}
                       | {p.decode() for p in live.smembers(rt.PROVIDERS_KEY)})
    items = []
    for provider, vehicles in rt.vehicles(live, providers).items():
        for v in vehicles:
            if bbox and not _in_box(v["lon"], v["lat"], bbox):
                continue
            trip = v.get("trip") or {}
            items.append({
                "id": f"{provider}:{v['vehicle_id'] or v['entity_id']}", "provider": provider,
                "label": v.get("label"),
                "trip": f"{provider}:{trip['trip_id']}" if trip.get("trip_id") else None,
                "route": f"{provider}:{trip['route_id']}" if trip.get("route_id") else None,
                "location": {"type": "Point", "coordinates": [v["lon"], v["lat"]]},
                "bearing": v.get("bearing"), "speed": v.get("speed"),
                "current_status": v.get("current_status"),
                "occupancy_status": v.get("occupancy_status"),
                "timestamp": datetime.fromtimestamp(v["timestamp"], UTC).isoformat()
                if v.get("timestamp") else None,
            })
    items.sort(key=lambda i: i["id"])
    return {"items": items}


def list_alerts(session: Session, live: Any, *, route: str | None = None,
                stop: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """Alerts active at ``at`` (default now), optionally about one route or stop."""
    moment = (at or datetime.now(UTC)).timestamp()
    providers = sorted({f.provider for f in active_feeds(session)}
                       | {p.decode() for p in live.smembers(rt.PROVIDERS_KEY)})
    items = []
    for provider, alerts in rt.alerts(live, providers).items():
        for alert in alerts:
            periods = alert.get("active_periods") or []
            if periods and not any((p.get("start") or 0) <= moment <= (p.get("end") or math.inf)
                                   for p in periods):
                continue
            informed = [{k: (f"{provider}:{v}" if v and k != "agency_id" else v)
                         for k, v in sel.items()} for sel in alert.get("informed", [])]
            if route and not any(sel.get("route_id") == route for sel in informed):
                continue
            if stop and not any(sel.get("stop_id") == stop for sel in informed):
                continue
            items.append({
                "id": f"{provider}:{alert['entity_id']}", "provider": provider,
                "cause": alert.get("cause"), "effect": alert.get("effect"),
                "header": alert.get("header"), "description": alert.get("description"),
                "url": alert.get("url"),
                "active_periods": [
                    {"start": _ts(p.get("start")), "end": _ts(p.get("end"))} for p in periods],
                "informed": informed,
            })
    return {"items": items}


def _ts(value: int | None) -> str | None:
    return datetime.fromtimestamp(value, UTC).isoformat() if value else None
