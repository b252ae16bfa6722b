"""Read services of the parking API: facilities near a point or in a box, zones, history, quotes.

Geographic search is a bounding-box prefilter on the indexed ``lat``/``lon`` columns, then the
exact geodesic distance on the WGS84 ellipsoid (Karney's algorithm, through pyproj's
vectorised ``Geod.inv``: the same results as ``geopy.distance.geodesic``, computed for a whole
candidate set at once). Zones: bounding-box prefilter, then shapely (point in polygon, or the
distance to a street segment within its width). Only active feed versions are read.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import Point, shape
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.db import run_read_only
from app.errors import Problem
from providers.geo import GEOD, box_around, geodesic_distances
from providers.models import Feed, FeedVersion, Provider
from providers.pagination import decode_cursor, encode_cursor
from providers.parking import static_index
from providers.parking.driver_sql import DriverStatement
from providers.parking.grid import (
    METRES_PER_DEG_LAT,
    cells_in_box,
    segment_reach_m,
    zone_cells_meeting,
)
from providers.parking.hours import is_open_at
from providers.parking.live import active_version_ids, read_live, send_live_read
from providers.parking.models import ParkingAvailabilityReading, ParkingFacility, ParkingZone
from providers.parking.records import structure_type
from providers.parking.store import ZONE_WINDOW_DEG
from providers.parking.tariff import TariffError, quote

DEFAULT_STALE_AFTER_SECONDS = 900
DEFAULT_TIMEZONE = "Europe/Berlin"
_SCAN_BATCH = 500
_SHAPES: dict[tuple[Any, ...], Any] = {}
_SHAPES_MAX = 200_000


@dataclass
class FacilitySearch:
    """Filters of a facility search; ``lat``/``lon``/``radius`` and ``bbox`` are optional."""

    lat: float | None = None
    lon: float | None = None
    radius: float = 1000.0
    bbox: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat
    kinds: Sequence[str] = ()
    provider: str | None = None
    min_free: int | None = None
    ev_charging: bool | None = None
    open_at: datetime | None = None
    limit: int = 20
    cursor: str | None = None
    now: datetime | None = None
    stale_after: float = DEFAULT_STALE_AFTER_SECONDS
    _after: dict[str, Any] = field(default_factory=dict)

    @property
    def near(self) -> bool:
        return self.lat is not None and self.lon is not None


# --- ids and cursors ------------------------------------------------------------------------


def public_id(provider_slug: str, source_id: str) -> str:
    """The stable id the API uses: ``<provider>:<source id>`` (survives re-imports)."""
    return f"{provider_slug}:{source_id}"


def split_public_id(value: str) -> tuple[str, str]:
    """Provider slug and source id of a public id, or a 404 problem."""
    slug, sep, source_id = value.partition(":")
    if not sep or not slug or not source_id:
        raise Problem(404, "not-found", "Not Found",
                      f"{value!r} is not a parking id (expected '<provider>:<id>').")
    return slug, source_id


# --- availability -----------------------------------------------------------------------------


def present_availability(raw: dict[str, Any] | None, now: datetime, stale_after: float
                         ) -> dict[str, Any] | None:
    """A reading with its age; past ``stale_after`` seconds it is flagged stale, not live."""
    if raw is None:
        return None
    observed = datetime.fromisoformat(raw["observed_at"])
    age = max((now - observed).total_seconds(), 0.0)
    stale = age > stale_after
    return {**raw, "age_seconds": int(age), "stale": stale, "live": not stale}


def _live_free(reading: dict[str, Any] | None) -> int | None:
    if reading is None or reading["stale"] or reading.get("free") is None:
        return None
    return int(reading["free"])


# --- facilities -------------------------------------------------------------------------------


def search_facilities(session: Session, live: Any, search: FacilitySearch) -> dict[str, Any]:
    """One page of facilities matching ``search`` and the cursor of the next page."""
    return run_read_only(session, lambda connection: _search_facilities(connection, live,
                                                                         search))


def _search_facilities(connection: sa.Connection, live: Any, search: FacilitySearch
                       ) -> dict[str, Any]:
    now = search.now or datetime.now().astimezone()
    after = decode_cursor(search.cursor, {"i": int}, {"d": float}, query=_filters(search))
    params: dict[str, Any] = {}
    cells = None
    if search.near:
        min_lat, min_lon, max_lat, max_lon = box_around(search.lat, search.lon, search.radius)  # type: ignore[arg-type]
        params.update(near_min_lat=min_lat, near_max_lat=max_lat, near_min_lon=min_lon,
                      near_max_lon=max_lon)
        cells = cells_in_box(min_lat, min_lon, max_lat, max_lon)
        if cells is not None:
            params["cells"] = cells
    if search.bbox:
        params.update(zip(("box_min_lon", "box_min_lat", "box_max_lon", "box_max_lat"),
                          search.bbox, strict=True))
    if search.kinds:
        params["kinds"] = list(search.kinds)
    if search.ev_charging is not None:
        params["ev_charging"] = search.ev_charging
    if search.provider:
        params["provider"] = search.provider
    filters = (search.near, cells is not None, bool(search.bbox), bool(search.kinds),
               search.ev_charging is not None, bool(search.provider), search.open_at is not None,
               search.min_free is not None)

    page: list[tuple[int, float | None]] = []
    readings: dict[int, dict[str, Any] | None] = {}
    want = search.limit + 1
    plain_near = search.near and not any(filters[2:])
    found = (_near_from_index(connection, live, search, after, want, now, readings)
             if plain_near else None)
    if found is not None:  # the page's rows come with it: one statement in all
        page, rows_by_id = found
        more = len(page) > search.limit
        page = page[:search.limit]
        items = _facility_items(live, [rows_by_id[i] for i, _ in page], now,
                                search.stale_after, readings)
        return _facility_page(items, page, more, search)
    timezones = version_timezones(connection) if search.open_at is not None else None
    if search.near:
        rows = connection.execute(_facility_query(*filters), params).all()
        distances = geodesic_distances(search.lat, search.lon, [r.lat for r in rows],  # type: ignore[arg-type]
                                       [r.lon for r in rows])
        ranked = sorted(((d, r) for d, r in zip(distances, rows, strict=True)
                         if d <= search.radius), key=lambda dr: (dr[0], dr[1].id))
        if after:
            position = (float(after.get("d", 0.0)), after["i"])
            ranked = [(d, r) for d, r in ranked if (d, r.id) > position]
        kept = _apply_filters(live, [r for _, r in ranked], search, now, readings, want,
                              timezones)
        by_id = {r.id: d for d, r in ranked}
        page = [(r.id, by_id[r.id]) for r in kept]
    else:
        last = after.get("i", 0)
        while len(page) < want:
            batch = connection.execute(_facility_query(*filters, scan=True),
                                       {**params, "after": last}).all()
            if not batch:
                break
            kept = _apply_filters(live, batch, search, now, readings, want - len(page),
                                  timezones)
            page.extend((r.id, None) for r in kept)
            last = batch[-1].id
            if len(batch) < _SCAN_BATCH:
                break
    more = len(page) > search.limit
    page = page[:search.limit]
    items = _load_facilities(connection, live, [i for i, _ in page], now, search.stale_after,
                             readings)
    return _facility_page(items, page, more, search)


def _filters(search: FacilitySearch) -> dict[str, Any]:
    """The filters a search's cursors are tied to (not its page size or clock)."""
    return {"lat": search.lat, "lon": search.lon, "radius": search.radius, "bbox": search.bbox,
            "kinds": sorted(search.kinds), "provider": search.provider,
            "min_free": search.min_free, "ev_charging": search.ev_charging,
            "open_at": search.open_at}


def _facility_page(items: list[dict[str, Any]], page: list[tuple[int, float | None]],
                   more: bool, search: FacilitySearch) -> dict[str, Any]:
    for item, (_, distance) in zip(items, page, strict=True):
        if distance is not None:
            item["distance_m"] = round(distance, 1)
    next_cursor = None
    if more and page:
        last_id, last_distance = page[-1]
        position: dict[str, Any] = {"i": last_id}
        if last_distance is not None:
            position["d"] = last_distance
        next_cursor = encode_cursor(position, _filters(search))
    return {"items": items, "next_cursor": next_cursor}


_FACILITY = ParkingFacility.__table__.c
_ZONE_C = ParkingZone.__table__.c
_PROVIDER = Provider.__table__
# What ``facility_dict`` reads for the list form, JSON documents as their text.
_LIST_COLUMNS = (
    *(_FACILITY[name] for name in (
        "id", "provider_id", "source_id", "name", "kind", "lat", "lon", "address", "capacity",
        "max_height_cm", "opening_hours", "ev_charging", "operator", "url")),
    sa.cast(_FACILITY.capacity_by_category, sa.Text).label("capacity_by_category"),
    sa.cast(_FACILITY.tariff, sa.Text).label("tariff"),
    _PROVIDER.c.slug,
)

# Statements below run on the session's connection (same transaction) without the ORM's
# per-execute work: they are plain Core selects of table columns.
@functools.cache
def _facility_query(near: bool, cells: bool, bbox: bool, kinds: bool, ev_charging: bool,
                    provider: bool, open_at: bool, min_free: bool, *, scan: bool = False
                    ) -> sa.Select:
    # Built once per combination of filters, with bound parameters: building a statement
    # costs more than running it, and a cached statement skips SQLAlchemy's compilation too.
    c = _FACILITY
    # Candidates carry only what ranking and the Python filters need (a dense 1 km holds over
    # a hundred); the page's columns come in a second query for its few rows.
    columns = [c.id, c.lat, c.lon]
    if min_free:  # the live store's key
        columns += [c.provider_id, c.source_id]
    if open_at:  # the version leads to its feed's time zone
        columns += [c.opening_times, c.feed_version_id]
    # "+ 0" keeps SQLite's planner off the version index (every row of a big active version
    # matches that one); PostgreSQL plans it the same either way.
    query = sa.select(*columns).where((c.feed_version_id + 0).in_(active_version_ids()))
    if near:
        query = query.where(c.lat.between(sa.bindparam("near_min_lat"),
                                          sa.bindparam("near_max_lat")),
                            c.lon.between(sa.bindparam("near_min_lon"),
                                          sa.bindparam("near_max_lon")))
        if cells:  # a few index probes (grid.py) instead of a whole latitude band
            query = query.where(c.cell.in_(sa.bindparam("cells", expanding=True)))
    if bbox:
        query = query.where(c.lat.between(sa.bindparam("box_min_lat"),
                                          sa.bindparam("box_max_lat")),
                            c.lon.between(sa.bindparam("box_min_lon"),
                                          sa.bindparam("box_max_lon")))
    if kinds:
        query = query.where(c.kind.in_(sa.bindparam("kinds", expanding=True)))
    if ev_charging:  # the column is NOT NULL, so "=" finds what "IS" does
        query = query.where(c.ev_charging == sa.bindparam("ev_charging", type_=sa.Boolean))
    if provider:
        query = query.where(c.provider_id.in_(
            sa.select(Provider.id).where(Provider.slug == sa.bindparam("provider"))))
    if scan:  # pages in id order, from the bound "after"
        query = query.where(c.id > sa.bindparam("after")).order_by(c.id).limit(_SCAN_BATCH)
    return query


def _near_from_index(connection: sa.Connection, live: Any, search: FacilitySearch,
                     after: dict[str, Any], want: int, now: datetime,
                     readings: dict[int, dict[str, Any] | None]
                     ) -> tuple[list[tuple[int, float | None]], dict[int, Any]] | None:
    # Candidates from this worker's index (static_index.py), ranked exactly as the SQL path
    # ranks them; the statement that reads the page's rows also tells whether the index is
    # of the data served now. If not, rebuild and rank again; None (the SQL path) if the
    # data keeps changing under us.
    # The page's live readings are asked for before the statement is sent (the index knows
    # their keys), so Redis and the database answer at the same time.
    index, stale = static_index.current(connection, "facilities"), None
    for _ in range(2):
        if index is None:
            index = static_index.rebuild(connection, "facilities", stale)
        page, keys = _rank_near(index, search, after, want)
        pending = send_live_read(live, keys[:search.limit])
        dialect = connection.dialect.name
        try:
            rows = _facilities_by_id(dialect).rows(connection, {
                "ids": _id_list_value([i for i, _ in page[:search.limit]], dialect)})
        except BaseException:
            pending.discard()
            raise
        raws = pending.result()
        if static_index.token_of(rows[0]) == index.token:
            by_id = {row.id: row for row in rows}
            for (i, _), key, raw in zip(page, keys, raws, strict=False):
                row = by_id.get(i)
                if row is not None and (row.provider_id, row.source_id) == key:
                    readings[i] = present_availability(raw, now, search.stale_after)
            return page, by_id
        index, stale = None, index
    return None


def _rank_near(index: static_index.FacilityPoints, search: FacilitySearch,
               after: dict[str, Any], want: int
               ) -> tuple[list[tuple[int, float | None]], list[tuple[int, str]]]:
    # The page as (id, distance), and the live-store key (provider id, source id) of each.
    lat, lon, radius = search.lat, search.lon, search.radius
    positions = index.in_box(*box_around(lat, lon, radius))  # type: ignore[arg-type]
    if not len(positions):
        return [], []
    ids = index.ids[positions]
    _, _, distances = GEOD.inv(np.full(len(ids), lon), np.full(len(ids), lat),
                               index.lons[positions], index.lats[positions])
    keep = distances <= radius
    if after:
        last_d, last_i = float(after.get("d", 0.0)), after["i"]
        keep &= (distances > last_d) | ((distances == last_d) & (ids > last_i))
    ids, distances, positions = ids[keep], distances[keep], positions[keep]
    order = np.lexsort((ids, distances))[:want]
    chosen = positions[order]
    return (list(zip(ids[order].tolist(), distances[order].tolist(), strict=True)),
            index.live_keys(chosen))


def _apply_filters(live: Any, rows: Sequence[Any], search: FacilitySearch, now: datetime,
                   readings: dict[int, dict[str, Any] | None], want: int,
                   timezones: dict[int, str] | None = None) -> list[Any]:
    # Filters that need the live store or the opening hours run in Python, in page order.
    if search.min_free is None and search.open_at is None:
        return list(rows[:want])
    timezones = timezones or {}
    kept: list[Any] = []
    for start in range(0, len(rows), _SCAN_BATCH):
        chunk = rows[start:start + _SCAN_BATCH]
        if search.min_free is not None:
            raws = read_live(live, [(r.provider_id, r.source_id) for r in chunk])
            for r, raw in zip(chunk, raws, strict=True):
                readings[r.id] = present_availability(raw, now, search.stale_after)
        for r in chunk:
            if search.min_free is not None:
                free = _live_free(readings.get(r.id))
                if free is None or free < search.min_free:
                    continue
            if search.open_at is not None and not is_open_at(
                    r.opening_times, search.open_at,
                    timezones.get(r.feed_version_id, DEFAULT_TIMEZONE)):
                continue
            kept.append(r)
            if len(kept) >= want:
                return kept
    return kept


def feed_timezone(config: Mapping[str, Any] | None) -> str:
    """The IANA time zone a feed's local times (opening hours) are in.

    The feed's ``timezone`` setting, else its mapping's (docs/parking.md), else Europe/Berlin;
    a name the time zone database does not know counts as unset.
    """
    config = config or {}
    mapping = config.get("mapping")
    for value in (config.get("timezone"),
                  mapping.get("timezone") if isinstance(mapping, Mapping) else None):
        if isinstance(value, str) and value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return value
    return DEFAULT_TIMEZONE


def version_timezones(connection: sa.Connection) -> dict[int, str]:
    """The time zone of each active version's feed, by version id."""
    return {version_id: feed_timezone(config)
            for version_id, config in connection.execute(_ACTIVE_FEED_CONFIGS)}


_ACTIVE_FEED_CONFIGS = (
    sa.select(FeedVersion.id, Feed.config).join(Feed, Feed.id == FeedVersion.feed_id)
    .where(FeedVersion.status == "active")
)


def _load_facilities(connection: sa.Connection, live: Any, ids: list[int], now: datetime,
                     stale_after: float, readings: dict[int, dict[str, Any] | None]
                     ) -> list[dict[str, Any]]:
    if not ids:
        return []
    # Only the columns of the list form, as plain rows: no ORM objects to build and track.
    by_id = {row.id: row for row in connection.execute(_LOAD_FACILITIES, {"ids": ids})}
    return _facility_items(live, [by_id[i] for i in ids], now, stale_after, readings)


def _facility_items(live: Any, rows: list[Any], now: datetime, stale_after: float,
                    readings: dict[int, dict[str, Any] | None]) -> list[dict[str, Any]]:
    missing = [row for row in rows if row.id not in readings]
    if missing:  # one MGET for the page
        raws = read_live(live, [(row.provider_id, row.source_id) for row in missing])
        for row, raw in zip(missing, raws, strict=True):
            readings[row.id] = present_availability(raw, now, stale_after)
    return [facility_dict(_decoded(row), row.slug, readings.get(row.id)) for row in rows]


def _decoded(row: Any) -> SimpleNamespace:
    return SimpleNamespace(**{**row._asdict(),
                              "capacity_by_category": _json(row.capacity_by_category),
                              "tariff": _json(row.tariff)})


_LOAD_FACILITIES = (
    sa.select(*_LIST_COLUMNS)
    .join(_PROVIDER, _PROVIDER.c.id == _FACILITY.provider_id)
    .where(_FACILITY.id.in_(sa.bindparam("ids", expanding=True)))
)


def _id_list_condition(column: Any, dialect: str) -> Any:
    # "column is one of :ids", the ids bound as ONE text value: the statement text and its
    # parameter types stay the same whatever the ids, so PostgreSQL runs it as a prepared
    # statement (psycopg prepares a repeated statement; planning cost more than running it).
    if dialect == "postgresql":
        return column == sa.any_(sa.cast(sa.bindparam("ids", type_=sa.Text),
                                         postgresql.ARRAY(sa.BigInteger)))
    return column.in_(sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam("ids", type_=sa.Text))))


def _id_list_value(ids: Sequence[int], dialect: str) -> str:
    joined = ",".join(str(int(i)) for i in ids)
    return f"{{{joined}}}" if dialect == "postgresql" else f"[{joined}]"


@functools.cache
def _facilities_by_id(dialect: str) -> DriverStatement:
    # The page's rows, and the token of the data served now (one row of NULLs when none match).
    return DriverStatement(
        sa.select(*static_index.FACILITY_TOKEN, *_LIST_COLUMNS)
        .select_from(sa.select(sa.literal(1).label("one")).subquery())
        # flat outer joins: SQLite materialises a nested join (a scan of the whole table)
        .outerjoin(ParkingFacility.__table__, _id_list_condition(_FACILITY.id, dialect))
        .outerjoin(_PROVIDER, _PROVIDER.c.id == _FACILITY.provider_id),
        "FacilityRow", {"ids": ""})


def facility_dict(facility: Any, provider_slug: str,
                  availability: dict[str, Any] | None, *, detail: bool = False
                  ) -> dict[str, Any]:
    """The API form of a facility (an ORM object, or a row with the list columns)."""
    capacity: dict[str, Any] = {"total": facility.capacity, **(facility.capacity_by_category
                                                               or {})}
    item = {
        "id": public_id(provider_slug, facility.source_id),
        "provider": provider_slug,
        "source_id": facility.source_id,
        "name": facility.name,
        "kind": facility.kind,
        "structure_type": structure_type(facility.kind),
        "location": {"lat": facility.lat, "lon": facility.lon},
        "address": facility.address,
        "capacity": capacity,
        "max_height_cm": facility.max_height_cm,
        "opening_hours": facility.opening_hours,
        "ev_charging": facility.ev_charging,
        "operator": facility.operator,
        "url": facility.url,
        "availability": availability,
        "has_tariff": facility.tariff is not None,
    }
    if detail:
        item.update(geometry=facility.geometry, opening_times=facility.opening_times,
                    payment_methods=facility.payment_methods or [],
                    description=facility.description, tariff=facility.tariff,
                    attributes=facility.attributes or {})
    return item


def find_facility(session: Session, facility_id: str) -> tuple[ParkingFacility, str]:
    """The served facility with this public id, or a 404 problem."""
    slug, source_id = split_public_id(facility_id)
    row = session.execute(
        sa.select(ParkingFacility, Provider.slug)
        .join(Provider, Provider.id == ParkingFacility.provider_id)
        .where(Provider.slug == slug, ParkingFacility.source_id == source_id,
               ParkingFacility.feed_version_id.in_(active_version_ids()))
        .order_by(ParkingFacility.feed_version_id.desc()).limit(1)
    ).first()
    if row is None:
        raise Problem(404, "not-found", "Not Found", f"No parking facility {facility_id!r}.")
    return row[0], row[1]


def get_facility(session: Session, live: Any, facility_id: str, *, now: datetime,
                 stale_after: float = DEFAULT_STALE_AFTER_SECONDS) -> dict[str, Any]:
    """One facility with its current availability, opening times and tariff."""
    facility, slug = find_facility(session, facility_id)
    raw = read_live(live, [(facility.provider_id, facility.source_id)])[0]
    return facility_dict(facility, slug, present_availability(raw, now, stale_after),
                         detail=True)


def availability_history(session: Session, facility_id: str, *, start: datetime,
                         end: datetime, interval: timedelta) -> dict[str, Any]:
    """Readings of a facility between ``start`` and ``end``, aggregated per ``interval``."""
    if end <= start:
        raise Problem(422, "invalid-range", "Invalid time range", "'to' must be after 'from'.")
    if interval.total_seconds() < 60:
        raise Problem(422, "invalid-range", "Invalid time range",
                      "The interval must be at least 60 seconds.")
    buckets_needed = (end - start) / interval
    if buckets_needed > 5000:
        raise Problem(422, "invalid-range", "Invalid time range",
                      f"That range holds {int(buckets_needed)} intervals; at most 5000 fit "
                      "one response. Use a longer interval or a shorter range.")
    facility, slug = find_facility(session, facility_id)
    rows = session.execute(
        sa.select(ParkingAvailabilityReading.observed_at, ParkingAvailabilityReading.free,
                  ParkingAvailabilityReading.occupied)
        .where(ParkingAvailabilityReading.provider_id == facility.provider_id,
               ParkingAvailabilityReading.source_id == facility.source_id,
               ParkingAvailabilityReading.observed_at >= start,
               ParkingAvailabilityReading.observed_at < end)
        .order_by(ParkingAvailabilityReading.observed_at)
    ).all()
    groups: dict[int, list[tuple[int | None, int | None]]] = {}
    for observed, free, occupied in rows:
        groups.setdefault(int((observed - start) / interval), []).append((free, occupied))
    items = []
    for index in sorted(groups):
        frees = [f for f, _ in groups[index] if f is not None]
        occupieds = [o for _, o in groups[index] if o is not None]
        bucket_start = start + index * interval
        items.append({
            "start": bucket_start.isoformat(),
            "end": (bucket_start + interval).isoformat(),
            "samples": len(groups[index]),
            "free_avg": round(sum(frees) / len(frees), 1) if frees else None,
            "free_min": min(frees) if frees else None,
            "free_max": max(frees) if frees else None,
            "occupied_avg": round(sum(occupieds) / len(occupieds), 1) if occupieds else None,
        })
    return {"facility_id": public_id(slug, facility.source_id), "from": start.isoformat(),
            "to": end.isoformat(), "interval_seconds": int(interval.total_seconds()),
            "items": items}


# --- zones ------------------------------------------------------------------------------------


def _zone_shapes(rows: Sequence[Any]) -> list[Any]:
    # Parsed geometries are cached per row id *and* bounds: SQLite may reuse a rolled-back id.
    # (Read once into a local list: another thread may clear the cache meanwhile.)
    keys = [(row.id, row.min_lat, row.min_lon, row.max_lat, row.max_lon) for row in rows]
    shapes = [_SHAPES.get(key) for key in keys]
    missing = [i for i, found in enumerate(shapes) if found is None]
    if missing:
        parsed = parse_shapes([rows[i].geometry for i in missing])
        if len(_SHAPES) + len(missing) > _SHAPES_MAX:
            _SHAPES.clear()
        for i, geom in zip(missing, parsed, strict=True):
            shapes[i] = _SHAPES[keys[i]] = geom
    return shapes


def parse_shapes(texts: Sequence[str]) -> list[Any]:
    """Shapely geometries of GeoJSON geometry texts."""
    try:  # GEOS reads GeoJSON text for all at once, several times faster
        return list(shapely.from_geojson(texts))
    except shapely.errors.GEOSException:  # anything GEOS is stricter about than shapely
        return [shape(json.loads(text)) for text in texts]


_ZONE_PAD_DEG = 50.0 / METRES_PER_DEG_LAT  # widest street segment buffer we honour


def zones_at(session: Session, lat: float, lon: float) -> list[dict[str, Any]]:
    """Zones that contain the point, or street segments within their width of it (nearest first)."""
    return run_read_only(session, lambda connection: _zones_at(connection, lat, lon))


def _zones_at(connection: sa.Connection, lat: float, lon: float) -> list[dict[str, Any]]:
    # The hits from this worker's index (static_index.py); the statement that reads their rows
    # also tells whether the index is of the data served now (as for facilities near a point).
    index, stale = static_index.current(connection, "zones"), None
    for _ in range(2):
        if index is None:
            index = static_index.rebuild(connection, "zones", stale)
        hits = _zone_hits(index, lat, lon)
        dialect = connection.dialect.name
        rows = _zones_by_id(dialect).rows(connection, {
            "ids": _id_list_value([i for _, i in hits], dialect)})
        if static_index.token_of(rows[0]) == index.token:
            by_id = {row.id: row for row in rows}
            return [_zone_at_dict(by_id[i], distance) for distance, i in hits]
        index, stale = None, index
    return _zones_at_sql(connection, lat, lon)


def _zone_hits(index: static_index.ZoneShapes, lat: float, lon: float
               ) -> list[tuple[float, int]]:
    # The same tests as _zones_at_sql, on the index: (distance, id) of each hit, sorted.
    pad = _ZONE_PAD_DEG
    positions = index.meeting(lat, lon, lat - pad, lon - pad * 2, lat + pad, lon + pad * 2)
    if not len(positions):
        return []
    point = Point(lon, lat)
    hits: list[tuple[float, int]] = []
    segments: list[tuple[Any, int]] = []
    for position, geom in zip(positions.tolist(), shapely.from_wkb(index.wkb[positions]),
                              strict=True):
        if index.polygon[position]:
            if geom.covers(point):
                hits.append((0.0, int(index.ids[position])))
        else:
            segments.append((geom, position))
    if segments:
        distances = _segment_distances([geom for geom, _ in segments], point)
        for (_, position), distance in zip(segments, distances, strict=True):
            if distance <= index.reach_m[position]:
                hits.append((distance, int(index.ids[position])))
    hits.sort()
    return hits


def _segment_distances(lines: list[Any], point: Point) -> list[float]:
    # Metres from the point to the nearest point of each street segment, in a local
    # equirectangular frame (fine at <50 m), one shapely call each for all candidates.
    nearest = shapely.get_coordinates(shapely.line_interpolate_point(
        lines, shapely.line_locate_point(lines, point)))
    lon, lat = point.x, point.y
    cos_lat = math.cos(math.radians(lat))
    return [math.hypot((x - lon) * METRES_PER_DEG_LAT * cos_lat, (y - lat) * METRES_PER_DEG_LAT)
            for x, y in nearest.tolist()]


def _zone_at_dict(row: Any, distance: float) -> dict[str, Any]:
    zone = zone_dict(row, row.slug)
    zone.update(geometry=json.loads(row.geometry), tariff=_json(row.tariff),
                distance_m=round(distance, 1))
    return zone


def _zones_at_sql(connection: sa.Connection, lat: float, lon: float) -> list[dict[str, Any]]:
    # Candidates by the grid index in SQL: the fallback while the served data keeps changing.
    pad = _ZONE_PAD_DEG
    min_lat, max_lat, min_lon, max_lon = lat - pad, lat + pad, lon - pad * 2, lon + pad * 2
    cells = zone_cells_meeting(min_lat, min_lon, max_lat, max_lon)
    params = {"min_lat": min_lat, "max_lat": max_lat, "min_lon": min_lon, "max_lon": max_lon,
              "lat": lat, "lon": lon}
    if cells is not None:  # the grid cells such zones are stored in: a few index probes
        params["cells"] = cells
    point = Point(lon, lat)
    hits: list[tuple[float, int, Any]] = []
    segments: list[tuple[Any, Any]] = []
    rows = connection.execute(_zones_at_query(cells is not None), params).all()
    # Geometries come as JSON text: parsed only when not cached, or when in the answer.
    for row, geom in zip(rows, _zone_shapes(rows), strict=True):
        if geom.geom_type.endswith("Polygon"):
            if geom.covers(point):
                hits.append((0.0, row.id, row))
        else:
            segments.append((geom, row))
    if segments:
        distances = _segment_distances([geom for geom, _ in segments], point)
        for (_, row), distance in zip(segments, distances, strict=True):
            if distance <= segment_reach_m(row.rules):
                hits.append((distance, row.id, row))
    hits.sort(key=lambda hit: hit[:2])
    return [_zone_at_dict(row, distance) for distance, _, row in hits]


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@functools.cache
def _zones_at_query(cells: bool) -> sa.Select:
    z, provider = ParkingZone.__table__.c, Provider.__table__.c
    # geometry and tariff as their JSON text (the same on both backends), decoded for hits only
    raw = {"geometry": sa.cast(z.geometry, sa.Text).label("geometry"),
           "tariff": sa.cast(z.tariff, sa.Text).label("tariff")}
    query = (
        sa.select(*(raw.get(name, z[name]) for name in _ZONE_COLUMNS), z.min_lat, z.min_lon,
                  z.max_lat, z.max_lon, provider.slug)
        .join(Provider.__table__, provider.id == z.provider_id)
        .where((z.feed_version_id + 0).in_(active_version_ids()),
               z.min_lat <= sa.bindparam("max_lat"), z.max_lat >= sa.bindparam("min_lat"),
               z.min_lon <= sa.bindparam("max_lon"), z.max_lon >= sa.bindparam("min_lon"),
               # the point in the zone's reach box (grid.zone_reach): at a dense street corner
               # this leaves the 1-3 segments it can be on of the ~25 in the window above
               z.reach_min_lat <= sa.bindparam("lat"), z.reach_max_lat >= sa.bindparam("lat"),
               z.reach_min_lon <= sa.bindparam("lon"), z.reach_max_lon >= sa.bindparam("lon"))
    )
    if cells:
        query = query.where(z.cell.in_(sa.bindparam("cells", expanding=True)))
    return query


@functools.cache
def _zones_by_id(dialect: str) -> DriverStatement:
    # The hits' rows, and the token of the data served now (one row of NULLs when none match).
    return DriverStatement(
        sa.select(*static_index.ZONE_TOKEN,
                  *(sa.cast(_ZONE_C[name], sa.Text).label(name) if name in ("geometry", "tariff")
                    else _ZONE_C[name] for name in _ZONE_COLUMNS),
                  _PROVIDER.c.slug)
        .select_from(sa.select(sa.literal(1).label("one")).subquery())
        .outerjoin(ParkingZone.__table__, _id_list_condition(_ZONE_C.id, dialect))
        .outerjoin(_PROVIDER, _PROVIDER.c.id == _ZONE_C.provider_id),
        "ZoneRow", {"ids": ""})


def zones_in_bbox(session: Session, bbox: tuple[float, float, float, float], *, limit: int,
                  cursor: str | None) -> dict[str, Any]:
    """Zones whose bounding box meets ``bbox`` (min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = bbox
    after = decode_cursor(cursor, {"i": int}, query={"bbox": bbox}).get("i", 0)
    ids = session.scalars(
        sa.select(ParkingZone.id)
        .where((ParkingZone.feed_version_id + 0).in_(active_version_ids()),
               ParkingZone.min_lat <= max_lat, ParkingZone.max_lat >= min_lat,
               ParkingZone.min_lon <= max_lon, ParkingZone.max_lon >= min_lon,
               sa.or_(ParkingZone.min_lat >= min_lat - ZONE_WINDOW_DEG,
                      ParkingZone.large.is_(True)),
               ParkingZone.id > after)
        .order_by(ParkingZone.id).limit(limit + 1)
    ).all()
    more = len(ids) > limit
    ids = list(ids[:limit])
    return {"items": _load_zones(session, ids),
            "next_cursor": encode_cursor({"i": ids[-1]}, {"bbox": bbox}) if more and ids
            else None}


def _load_zones(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    z, provider = ParkingZone.__table__.c, Provider.__table__.c
    rows = session.execute(
        sa.select(*(z[name] for name in _ZONE_COLUMNS), provider.slug)
        .join(Provider.__table__, provider.id == z.provider_id)
        .where(z.id.in_(ids))
    ).all()
    by_id = {row.id: zone_dict(row, row.slug) for row in rows}
    return [by_id[i] for i in ids]


# What ``zone_dict`` reads.
_ZONE_COLUMNS = ("id", "source_id", "name", "kind", "geometry", "capacity", "rules", "tariff")


def zone_dict(zone: Any, provider_slug: str) -> dict[str, Any]:
    """The API form of a zone (an ORM object, or a row with its columns)."""
    return {"id": public_id(provider_slug, zone.source_id), "provider": provider_slug,
            "source_id": zone.source_id, "name": zone.name, "kind": zone.kind,
            "geometry": zone.geometry, "capacity": zone.capacity, "rules": zone.rules or {},
            "tariff": zone.tariff}


def get_zone(session: Session, zone_id: str) -> dict[str, Any]:
    """One served zone, or a 404 problem."""
    slug, source_id = split_public_id(zone_id)
    row = run_read_only(session, lambda connection: connection.execute(
        _GET_ZONE, {"slug": slug, "source_id": source_id}).first())
    if row is None:
        raise Problem(404, "not-found", "Not Found", f"No parking zone {zone_id!r}.")
    return zone_dict(row, row.slug)


_ZONE = ParkingZone.__table__.c
_GET_ZONE = (
    sa.select(*(_ZONE[name] for name in _ZONE_COLUMNS), _PROVIDER.c.slug)
    .join(_PROVIDER, _PROVIDER.c.id == _ZONE.provider_id)
    .where(_PROVIDER.c.slug == sa.bindparam("slug"), _ZONE.source_id == sa.bindparam("source_id"),
           _ZONE.feed_version_id.in_(active_version_ids()))
    .order_by(_ZONE.feed_version_id.desc()).limit(1)
)


# --- quotes -----------------------------------------------------------------------------------


def price_quote(session: Session, *, facility_id: str | None, zone_id: str | None,
                start: datetime, end: datetime) -> dict[str, Any]:
    """The price of a stay at a facility or in a zone under its published tariff."""
    if bool(facility_id) == bool(zone_id):
        raise Problem(400, "invalid-quote", "Invalid quote request",
                      "Give exactly one of 'facility' or 'zone'.")
    if facility_id:
        facility, slug = find_facility(session, facility_id)
        tariff, target = facility.tariff, {"facility": public_id(slug, facility.source_id)}
    else:
        zone = get_zone(session, zone_id or "")
        tariff, target = zone["tariff"], {"zone": zone["id"]}
    if not tariff:
        raise Problem(422, "no-tariff", "No tariff published",
                      f"{next(iter(target.values()))!r} publishes no tariff, so no price can be "
                      "quoted.")
    try:
        result = quote(tariff, start, end)
    except TariffError as exc:
        raise Problem(400, "invalid-quote", "Invalid quote request", str(exc)) from None
    return {**target, **result}
