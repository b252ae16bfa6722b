"""The lookup grid never narrows what a lookup finds: every match sits in a probed cell."""

import math
import random

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from providers.parking.grid import (
    CATCH_ALL_CELL,
    LEVELS,
    MAX_CELLS,
    METRES_PER_DEG_LAT,
    WORLD,
    cells_in_box,
    point_cell,
    zone_cell,
    zone_cells_meeting,
    zone_reach,
)


def test_every_point_in_a_box_is_in_one_of_its_cells():
    rng = random.Random(7)
    for _ in range(2000):
        lat, lon = rng.uniform(-85, 85), rng.uniform(-179, 179)
        dlat, dlon = rng.uniform(0, 0.05), rng.uniform(0, 0.08)
        box = (lat - dlat, lon - dlon, lat + dlat, lon + dlon)
        cells = cells_in_box(*box)
        assert cells is not None
        # corners, edges and the inside, including points exactly on cell boundaries
        for p_lat in (box[0], box[2], lat, round(lat, 2), rng.uniform(box[0], box[2])):
            for p_lon in (box[1], box[3], lon, round(lon, 2), rng.uniform(box[1], box[3])):
                if box[0] <= p_lat <= box[2] and box[1] <= p_lon <= box[3]:
                    assert point_cell(p_lat, p_lon) in cells


def test_a_box_of_too_many_cells_falls_back_to_the_coordinate_index():
    assert cells_in_box(50.0, 7.0, 50.5, 7.5) is None  # 51 x 51 cells
    assert len(cells_in_box(50.0, 7.0, 50.1, 7.1)) <= MAX_CELLS


@pytest.mark.parametrize("extent", [0.0, 0.0004, 0.01, 0.02, 0.1, 0.7, 1.0, 1.5, 30.0])
def test_every_zone_meeting_a_box_is_in_one_of_its_cells(extent):
    rng = random.Random(int(extent * 1000))
    for _ in range(1500):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-170, 170)
        pad = 50.0 / 111_320
        box = (lat - pad, lon - 2 * pad, lat + pad, lon + 2 * pad)
        # a zone whose bounds meet the box: its minimum corner anywhere that still meets it
        height, width = extent * rng.random(), extent
        min_lat = rng.uniform(box[0] - height, box[2])
        min_lon = rng.uniform(box[1] - width, box[3])
        bounds = (min_lat, min_lon, min_lat + height, min_lon + width)
        assert (bounds[0] <= box[2], bounds[2] >= box[0]) == (True, True)
        assert (bounds[1] <= box[3], bounds[3] >= box[1]) == (True, True)
        assert zone_cell(*bounds) in zone_cells_meeting(*box)


def test_zones_take_the_finest_level_that_fits_and_huge_ones_share_a_cell():
    assert zone_cell(50.0, 7.0, 50.005, 7.01) == point_cell(50.0, 7.0)
    assert zone_cell(50.0, 7.0, 50.05, 7.05) != point_cell(50.0, 7.0)
    assert zone_cell(50.0, 7.0, 50.0 + LEVELS[-1] * 2, 7.1) == CATCH_ALL_CELL
    assert CATCH_ALL_CELL in zone_cells_meeting(50.0, 7.0, 50.001, 7.001)


def _segment_distance_m(line, lat, lon):
    # exactly as queries.zones_at measures a point's distance to a street segment
    point = Point(lon, lat)
    x, y = shapely.get_coordinates(shapely.line_interpolate_point(
        line, shapely.line_locate_point(line, point)))[0]
    cos_lat = math.cos(math.radians(lat))
    return math.hypot((x - lon) * METRES_PER_DEG_LAT * cos_lat, (y - lat) * METRES_PER_DEG_LAT)


def _inside(reach, lat, lon):
    return reach[0] <= lat <= reach[2] and reach[1] <= lon <= reach[3]


@pytest.mark.parametrize("base_lat", [0.0, 47.65, -33.9, 64.1, 78.2])
def test_every_point_a_segment_matches_is_in_its_reach_box(base_lat):
    rng = random.Random(int(base_lat * 100))
    for _ in range(300):
        lat, lon = base_lat + rng.uniform(-0.01, 0.01), rng.uniform(-179, 179)
        line = LineString([(lon, lat), (lon + rng.uniform(-0.001, 0.001),
                                        lat + rng.uniform(-0.001, 0.001))])
        width = rng.choice([0.0, 4.0, 8.0, 10.0, 30.0, 100.0])
        rules = {"segment_width_m": width} if width != 10.0 else {}
        min_lon, min_lat, max_lon, max_lat = line.bounds
        reach = zone_reach(min_lat, min_lon, max_lat, max_lon, polygon=False, rules=rules)
        half = width / 2
        # points just inside half the width of the segment, all around it
        for _ in range(20):
            px, py = shapely.get_coordinates(line.interpolate(rng.random(), normalized=True))[0]
            angle = rng.uniform(0, 2 * math.pi)
            for metres in (half * 0.999, half, half * 1.001 + 0.01):
                p_lat = py + math.sin(angle) * metres / METRES_PER_DEG_LAT
                p_lon = px + math.cos(angle) * metres / (
                    METRES_PER_DEG_LAT * math.cos(math.radians(p_lat)))
                if _segment_distance_m(line, p_lat, p_lon) <= half:
                    assert _inside(reach, p_lat, p_lon), (reach, p_lat, p_lon, width)


def test_a_polygon_reaches_its_bounds_and_odd_widths_are_not_narrowed():
    square = box(7.0, 50.0, 7.01, 50.01)
    reach = zone_reach(50.0, 7.0, 50.01, 7.01, polygon=True, rules={"segment_width_m": 40})
    assert _inside(reach, 50.0, 7.0)
    assert _inside(reach, 50.01, 7.01)
    assert reach == pytest.approx((50.0, 7.0, 50.01, 7.01), abs=1e-8)
    assert square.covers(Point(7.0, 50.0))
    for rules in ({"segment_width_m": "wide"}, {"segment_width_m": None},
                  {"segment_width_m": float("inf")}, {"segment_width_m": float("nan")}):
        assert zone_reach(50.0, 7.0, 50.0001, 7.0001, polygon=False, rules=rules) == WORLD
    narrow = zone_reach(50.0, 7.0, 50.0, 7.0, polygon=False, rules={"segment_width_m": -5})
    assert _inside(narrow, 50.0, 7.0)
