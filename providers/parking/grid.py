"""A fixed latitude/longitude grid that lets a plain B-tree index answer geographic lookups.

A range on ``lat`` (or ``min_lat``) alone is all a B-tree over two coordinates can narrow, so
at 100,000 rows a 1 km box still walks every row of its latitude band. Each facility and zone
therefore carries ``cell``, an integer naming one square of a grid; a lookup asks for the few
cells that can hold a match (an ``IN`` list, one index probe each, the same on SQLite and
PostgreSQL) and keeps its exact bounding-box conditions on top, so the cells only narrow
where the index looks, never what is found.

Facilities (points) sit in the level-0 cell of their point. A zone sits at the finest level
whose cell size is at least its bounding box's height and width, in the cell of the box's
minimum corner; zones larger than the coarsest level share one catch-all cell. A point lookup
with a margin asks, at each level, for the cells that a minimum corner of such a zone can lie
in: at most 3 x 3 per level.
"""

from __future__ import annotations

import math

from providers.geo import METRES_PER_DEG_LAT

# Cell sizes in degrees: ~1.1 km, ~11 km and ~111 km of latitude.
LEVELS = (0.01, 0.1, 1.0)
# Zones bigger than the coarsest cell: few (whole districts), looked up in one shared cell.
CATCH_ALL_CELL = -1
_LEVEL_STRIDE = 10**10  # level 0 holds 18,001 x 36,001 cells, fewer than this
# Cell bounds are computed with floating point; this margin keeps a row on the right side.
_EPSILON = 1e-9
# A box wider than this many cells is looked up through the lat/lon index instead.
MAX_CELLS = 256
# Street segments match a point within half their width (rules.segment_width_m, else this).
DEFAULT_SEGMENT_WIDTH_M = 10.0
WORLD = (-90.0, -180.0, 90.0, 180.0)


def _columns(size: float) -> int:
    return math.ceil(360.0 / size) + 1


def _row(lat: float, size: float) -> int:
    return math.floor((lat + 90.0) / size)


def _col(lon: float, size: float) -> int:
    return math.floor((lon + 180.0) / size)


def cell_id(level: int, lat: float, lon: float) -> int:
    """The cell of the point at ``level``."""
    size = LEVELS[level]
    return level * _LEVEL_STRIDE + _row(lat, size) * _columns(size) + _col(lon, size)


def point_cell(lat: float, lon: float) -> int:
    """The cell a facility at this point is stored in."""
    return cell_id(0, lat, lon)


def zone_cell(min_lat: float, min_lon: float, max_lat: float, max_lon: float) -> int:
    """The cell a zone with this bounding box is stored in."""
    extent = max(max_lat - min_lat, max_lon - min_lon)
    for level, size in enumerate(LEVELS):
        if extent <= size:
            return cell_id(level, min_lat, min_lon)
    return CATCH_ALL_CELL


def _cells(level: int, min_lat: float, min_lon: float, max_lat: float, max_lon: float
           ) -> list[int]:
    size = LEVELS[level]
    columns = _columns(size)
    col_lo, col_hi = _col(min_lon - _EPSILON, size), _col(max_lon + _EPSILON, size)
    return [level * _LEVEL_STRIDE + row * columns + col
            for row in range(_row(min_lat - _EPSILON, size), _row(max_lat + _EPSILON, size) + 1)
            for col in range(col_lo, col_hi + 1)]


def cells_in_box(min_lat: float, min_lon: float, max_lat: float, max_lon: float
                 ) -> list[int] | None:
    """The level-0 cells a point in the box can be stored in; None past ``MAX_CELLS``."""
    size = LEVELS[0]
    rows = _row(max_lat + _EPSILON, size) - _row(min_lat - _EPSILON, size) + 1
    cols = _col(max_lon + _EPSILON, size) - _col(min_lon - _EPSILON, size) + 1
    if rows * cols > MAX_CELLS:
        return None
    return _cells(0, min_lat, min_lon, max_lat, max_lon)


def zone_cells_meeting(min_lat: float, min_lon: float, max_lat: float, max_lon: float
                       ) -> list[int] | None:
    """Cells of every zone whose bounding box can meet this box; None past ``MAX_CELLS``.

    At each level a zone's minimum corner lies at most one cell size below and left of the
    box, so the cells from there to the box's maximum corner hold all candidates.
    """
    found = [CATCH_ALL_CELL]
    for level, size in enumerate(LEVELS):
        box = (min_lat - size, min_lon - size, max_lat, max_lon)
        rows = _row(box[2] + _EPSILON, size) - _row(box[0] - _EPSILON, size) + 1
        cols = _col(box[3] + _EPSILON, size) - _col(box[1] - _EPSILON, size) + 1
        if len(found) + rows * cols > MAX_CELLS:
            return None
        found += _cells(level, *box)
    return found


def segment_reach_m(rules: dict | None) -> float:
    """How far from a street segment a point still matches it: half the segment's width."""
    return float((rules or {}).get("segment_width_m", DEFAULT_SEGMENT_WIDTH_M)) / 2


def zone_reach(min_lat: float, min_lon: float, max_lat: float, max_lon: float, *,
               polygon: bool, rules: dict | None) -> tuple[float, float, float, float]:
    """The box (min_lat, min_lon, max_lat, max_lon) outside which no point matches the zone.

    A polygon matches the points it covers: its bounds. A street segment matches points within
    ``segment_reach_m`` metres, measured in the local frame of the point (metres per degree of
    longitude shrink with the cosine of its latitude): its bounds widened by that distance,
    using the smallest cosine in the widened band, so the box never cuts a match. Rules whose
    width is no finite number leave the zone unnarrowed (the lookup decides, as before).
    """
    if polygon:
        reach = 0.0
    else:
        try:
            reach = max(segment_reach_m(rules), 0.0)
        except (TypeError, ValueError, AttributeError):
            return WORLD
        if not math.isfinite(reach):
            return WORLD
    dlat = reach / METRES_PER_DEG_LAT + _EPSILON
    lat_lo, lat_hi = min_lat - dlat, max_lat + dlat
    cos_lat = max(math.cos(math.radians(min(max(abs(lat_lo), abs(lat_hi)), 89.9))), 1e-6)
    dlon = reach / (METRES_PER_DEG_LAT * cos_lat) + _EPSILON
    return lat_lo, min_lon - dlon, lat_hi, max_lon + dlon
