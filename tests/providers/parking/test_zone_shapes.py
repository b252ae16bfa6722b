"""Zone geometries parsed from their JSON text equal what shapely's ``shape`` builds."""

import json
from types import SimpleNamespace

from shapely.geometry import shape

from providers.parking.queries import _zone_shapes

LINE = {"type": "LineString", "coordinates": [[9.49, 47.65], [9.4901, 47.6502]]}
SQUARE = {"type": "Polygon", "coordinates": [[[7, 50], [7.01, 50], [7.01, 50.01], [7, 50]]]}


def row(zone_id, geometry, text=None):
    bounds = shape(geometry).bounds
    return SimpleNamespace(id=zone_id, min_lat=bounds[1], min_lon=bounds[0], max_lat=bounds[3],
                           max_lon=bounds[2], geometry=text or json.dumps(geometry))


def test_shapes_equal_shapely_shape_and_are_cached_per_id_and_bounds():
    rows = [row(-101, LINE), row(-102, SQUARE)]
    shapes = _zone_shapes(rows)
    assert [s.wkb for s in shapes] == [shape(LINE).wkb, shape(SQUARE).wkb]
    assert _zone_shapes(rows)[0] is shapes[0]
    moved = {"type": "LineString", "coordinates": [[9.5, 47.7], [9.5001, 47.7002]]}
    assert _zone_shapes([row(-101, moved)])[0].wkb == shape(moved).wkb  # same id, new bounds


def test_geojson_that_only_shapely_reads_still_parses():
    lowercase = {"type": "linestring", "coordinates": LINE["coordinates"]}
    assert _zone_shapes([row(-103, LINE, json.dumps(lowercase))])[0].wkb == shape(LINE).wkb
