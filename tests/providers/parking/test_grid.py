"""The lookup grid never narrows what a lookup finds: every match sits in a probed cell."""

import random

import pytest

from providers.parking.grid import (
    CATCH_ALL_CELL,
    LEVELS,
    MAX_CELLS,
    cells_in_box,
    point_cell,
    zone_cell,
    zone_cells_meeting,
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
