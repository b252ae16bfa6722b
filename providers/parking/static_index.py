"""A per-worker, in-memory index of the served facility points and zone shapes.

Static parking data changes only when a feed version is activated, yet a near or zone lookup
through SQL pays a candidate query on every request. Each worker therefore keeps the points
of the served facilities and the shapes of the served zones in numpy arrays sorted by grid
cell (grid.py's cells, searched by binary search), and asks SQL only for the rows of the
answer. That same statement also returns the *token* of the
served data (the active feed versions with their content digest and activation time, and the
highest row id), so an index built at another token is noticed in the very request that
would have used it: the worker rebuilds it and answers again. No request is ever answered
from an index of data that is no longer served, whichever process activated the new version.

Memory per worker at 100,000 facilities and 100,000 street segments: see docs/parking.md.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

from providers.models import FeedVersion
from providers.parking.grid import cells_in_box, segment_reach_m, zone_cells_meeting
from providers.parking.models import ParkingFacility, ParkingZone

_F = ParkingFacility.__table__.c
_Z = ParkingZone.__table__.c
_V = FeedVersion.__table__.c

# The served versions, each as "id:digest:activation time" (order-free: sorted in Python).
# An id alone is not enough: SQLite hands a rolled-back id out again.
_VERSIONS = sa.select(sa.func.aggregate_strings(
    sa.cast(_V.id, sa.Text) + ":" + _V.content_sha256 + ":"
    + sa.func.coalesce(sa.cast(_V.imported_at, sa.Text), ""), ",")
).where(_V.status == "active").scalar_subquery()
# Rows are written under a version before it is served, so a higher id means new rows.
_MAX_FACILITY = sa.select(sa.func.max(_F.id)).scalar_subquery()
_MAX_ZONE = sa.select(sa.func.max(_Z.id)).scalar_subquery()
FACILITY_TOKEN = (_VERSIONS.label("token_versions"), _MAX_FACILITY.label("token_max"))
ZONE_TOKEN = (_VERSIONS.label("token_versions"), _MAX_ZONE.label("token_max"))


def token_of(row: Any) -> tuple[str, int]:
    """The data token a row selected with ``FACILITY_TOKEN`` / ``ZONE_TOKEN`` carries."""
    versions = row.token_versions or ""
    return ",".join(sorted(versions.split(","))), row.token_max or 0


@dataclass(frozen=True)
class FacilityPoints:
    """The served facilities' ids, coordinates and live-store keys, sorted by grid cell."""

    token: tuple[str, int]
    cells: np.ndarray
    ids: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    # what live.live_key names a facility's reading by, so a near search can ask Redis for
    # the page's readings before SQL has answered (queries._near_from_index); the source ids
    # as one UTF-8 text and the end of each in it (a str object each would take 5x the memory)
    provider_ids: np.ndarray
    source_text: bytes
    source_ends: np.ndarray

    def live_keys(self, positions: np.ndarray) -> list[tuple[int, str]]:
        """(provider id, source id) of the facilities at these positions."""
        ends = self.source_ends
        return [(provider_id, self.source_text[ends[p - 1] if p else 0:ends[p]].decode())
                for provider_id, p in zip(self.provider_ids[positions].tolist(),
                                          positions.tolist(), strict=True)]

    def in_box(self, min_lat: float, min_lon: float, max_lat: float, max_lon: float
               ) -> np.ndarray:
        """Positions of the facilities inside the box (edges included)."""
        positions = _in_cells(self.cells, cells_in_box(min_lat, min_lon, max_lat, max_lon))
        lats, lons = self.lats[positions], self.lons[positions]
        return positions[(lats >= min_lat) & (lats <= max_lat) & (lons >= min_lon)
                         & (lons <= max_lon)]


@dataclass(frozen=True)
class ZoneShapes:
    """The served zones' ids, bounds, reach boxes and geometries (WKB), sorted by grid cell."""

    token: tuple[str, int]
    cells: np.ndarray
    ids: np.ndarray
    bounds: np.ndarray  # rows of min_lat, min_lon, max_lat, max_lon
    reach: np.ndarray  # rows of grid.zone_reach: min_lat, min_lon, max_lat, max_lon
    reach_m: np.ndarray  # street segments: how far from the line a point matches (NaN: never)
    polygon: np.ndarray  # bool: matches the points it covers (else a street segment)
    wkb: np.ndarray  # geometries as WKB (a fifth of the memory of parsed ones), parsed per hit

    def meeting(self, lat: float, lon: float, min_lat: float, min_lon: float, max_lat: float,
                max_lon: float) -> np.ndarray:
        """Positions of the zones whose reach box holds the point and whose bounds meet the box."""
        positions = _in_cells(self.cells, zone_cells_meeting(min_lat, min_lon, max_lat,
                                                              max_lon))
        reach, bounds = self.reach[positions], self.bounds[positions]
        return positions[(reach[:, 0] <= lat) & (reach[:, 2] >= lat) & (reach[:, 1] <= lon)
                         & (reach[:, 3] >= lon) & (bounds[:, 0] <= max_lat)
                         & (bounds[:, 2] >= min_lat) & (bounds[:, 1] <= max_lon)
                         & (bounds[:, 3] >= min_lon)]


def _in_cells(sorted_cells: np.ndarray, cells: list[int] | None) -> np.ndarray:
    # Positions of the rows in these cells (binary search each); None: every row.
    if cells is None:
        return np.arange(len(sorted_cells))
    wanted = np.asarray(cells, dtype=np.int64)
    starts = np.searchsorted(sorted_cells, wanted, side="left")
    ends = np.searchsorted(sorted_cells, wanted, side="right")
    found = ends > starts
    if not found.any():
        return np.empty(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b) for a, b in zip(starts[found].tolist(),
                                                           ends[found].tolist(), strict=True)])


def _chunk_query(table: sa.Table, token: tuple[Any, ...], *columns: Any) -> sa.Select:
    # The next chunk of served rows in id order after :after, each row with the data token;
    # a lone token row when none is left. Chunks, not one statement: a whole table's result
    # at once stays in the allocator's memory long after the index is built.
    # A plain walk along the primary key from :after, served or not: a version condition
    # here makes SQLite read and sort every later row of the version for each chunk.
    # _chunks keeps the rows of the versions the token names as active.
    chunk = (sa.select(*columns, table.c.feed_version_id)
             .where(table.c.id > sa.bindparam("after"))
             .order_by(table.c.id).limit(sa.bindparam("size")).subquery())
    return (sa.select(*token, *chunk.c)
            .select_from(sa.select(sa.literal(1).label("one")).subquery())
            .outerjoin(chunk, sa.true()))


_FACILITY_CHUNK = _chunk_query(ParkingFacility.__table__, FACILITY_TOKEN, _F.id, _F.lat,
                               _F.lon, _F.cell, _F.provider_id, _F.source_id)
_ZONE_CHUNK = _chunk_query(
    ParkingZone.__table__, ZONE_TOKEN, _Z.id, _Z.min_lat, _Z.min_lon, _Z.max_lat, _Z.max_lon,
    _Z.reach_min_lat, _Z.reach_min_lon, _Z.reach_max_lat, _Z.reach_max_lon, _Z.cell,
    sa.cast(_Z.geometry, sa.Text).label("geometry"), sa.cast(_Z.rules, sa.Text).label("rules"))


def _chunks(connection: sa.Connection, query: sa.Select
            ) -> Iterator[tuple[tuple[str, int], list[Any]]]:
    # Every served row, chunk by chunk, each chunk with the token it was read at.
    after = 0
    while True:
        rows = connection.execute(query, {"after": after, "size": _BATCH}).all()
        token = token_of(rows[0])
        active = {int(version.split(":", 1)[0]) for version in token[0].split(",") if version}
        rows = [row for row in rows if row.id is not None]
        yield token, [row for row in rows if row.feed_version_id in active]
        if len(rows) < _BATCH:
            return
        after = rows[-1].id


def _consistent_chunks(connection: sa.Connection, query: sa.Select, start: Callable[[], None]
                       ) -> Iterator[tuple[tuple[str, int], list[Any]]]:
    # The chunks are separate statements: when a new version became served meanwhile, call
    # ``start`` (the builder forgets what it read) and read again from the first chunk.
    while True:
        start()
        first = None
        for token, rows in _chunks(connection, query):
            if first is None:
                first = token
            elif token != first:
                break
            yield token, rows
        else:
            return


_BATCH = 5000
_lock = threading.Lock()
# (database URL, kind) -> index; replaced whole, never changed in place
_INDEXES: dict[tuple[str, str], Any] = {}
_BUILDING: dict[tuple[str, str], threading.Lock] = {}


def current(connection: sa.Connection, kind: str) -> Any:
    """The index of ``kind`` ("facilities" or "zones") last built for this database, if any."""
    return _INDEXES.get((_database(connection), kind))


def rebuild(connection: sa.Connection, kind: str, stale: Any = None) -> Any:
    """Read the served points or shapes afresh and keep them as this database's index.

    ``stale`` is the index the caller found out of date (None: none was built): a thread
    that finds another one already replaced it takes that one instead of building again,
    and only one thread per database and kind builds at a time.
    """
    key = (_database(connection), kind)
    with _lock:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:
        found = _INDEXES.get(key)
        if found is not None and found is not stale:
            return found
        index = (_build_facilities if kind == "facilities" else _build_zones)(connection)
        with _lock:
            _INDEXES[key] = index
    return index


def forget() -> None:
    """Drop every index (they are rebuilt on the next lookup)."""
    with _lock:
        _INDEXES.clear()


def _database(connection: sa.Connection) -> str:
    return connection.engine.url.render_as_string(hide_password=True)


def _build_facilities(connection: sa.Connection) -> FacilityPoints:
    token: tuple[str, int] = ("", 0)
    parts: list[np.ndarray] = []
    keys: list[np.ndarray] = []

    def start() -> None:
        parts.clear()
        keys.clear()

    for read_at, chunk in _consistent_chunks(connection, _FACILITY_CHUNK, start):
        token = read_at
        if chunk:  # columns: token (2), id, lat, lon, cell, provider id, source id, version
            parts.append(np.array([row[2:7] for row in chunk], dtype=np.float64))
            keys.append(np.array([row.source_id.encode() for row in chunk], dtype=object))
    table = np.concatenate(parts) if parts else np.empty((0, 5))
    order = np.argsort(table[:, 3].astype(np.int64), kind="stable")
    table = table[order]
    source_ids = (np.concatenate(keys) if keys else np.empty(0, dtype=object))[order].tolist()
    return FacilityPoints(token, table[:, 3].astype(np.int64), table[:, 0].astype(np.int64),
                          table[:, 1].copy(), table[:, 2].copy(), table[:, 4].astype(np.int64),
                          b"".join(source_ids),
                          np.cumsum([len(s) for s in source_ids], dtype=np.int64))


def _build_zones(connection: sa.Connection) -> ZoneShapes:
    from providers.parking.queries import parse_shapes

    token: tuple[str, int] = ("", 0)
    numbers: list[np.ndarray] = []  # id, bounds (4), reach box (4), cell
    reach_m: list[np.ndarray] = []
    polygon: list[np.ndarray] = []
    wkb: list[np.ndarray] = []

    def start() -> None:
        for part in (numbers, reach_m, polygon, wkb):
            part.clear()

    # chunk by chunk: only the compact form of each zone is kept (WKB, not text or rows)
    for read_at, chunk in _consistent_chunks(connection, _ZONE_CHUNK, start):
        token = read_at
        if not chunk:
            continue
        numbers.append(np.array([row[2:12] for row in chunk], dtype=np.float64))
        shapes = parse_shapes([row.geometry for row in chunk])
        is_polygon = np.isin(shapely.get_type_id(shapes), _POLYGON_TYPES)
        polygon.append(is_polygon)
        reach_m.append(np.array([0.0 if flat else _reach_m(row.rules)
                                 for row, flat in zip(chunk, is_polygon.tolist(), strict=True)],
                                dtype=np.float64))
        wkb.append(shapely.to_wkb(shapes))
    if not numbers:
        numbers.append(np.empty((0, 10)))
        reach_m.append(np.empty(0))
        polygon.append(np.empty(0, dtype=bool))
        wkb.append(np.empty(0, dtype=object))
    table = np.concatenate(numbers)
    order = np.argsort(table[:, 9].astype(np.int64), kind="stable")
    table = table[order]
    return ZoneShapes(token, table[:, 9].astype(np.int64), table[:, 0].astype(np.int64),
                      table[:, 1:5].copy(), table[:, 5:9].copy(),
                      np.concatenate(reach_m)[order], np.concatenate(polygon)[order],
                      np.concatenate(wkb)[order])


_POLYGON_TYPES = (3, 6)  # shapely type ids of Polygon and MultiPolygon


@functools.lru_cache(maxsize=1024)
def _reach_m(rules: str | None) -> float:
    # Rules come as JSON text: most zones of a feed share one, so it is decoded once. A width
    # that is no number matches no point (the SQL lookup failed on it).
    try:
        return segment_reach_m(None if rules is None else json.loads(rules))
    except (TypeError, ValueError, AttributeError):
        return math.nan
