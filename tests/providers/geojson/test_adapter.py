"""Generic GeoJSON and JSON through mappings: the real city files and projected CRSs."""

import json

import pytest
from geopy.distance import geodesic

from providers.base import FeedFormatError
from providers.geojson.adapter import GeoJsonAdapter
from tests.factories.parking import mapping


def parse(payload: bytes, mapping_doc=None):
    config = {"source": "feed.json"}
    if mapping_doc is not None:
        config["mapping"] = mapping_doc
    return GeoJsonAdapter().parse(payload, config)


def real(shared_data, name):
    return parse((shared_data / f"parking/json/{name}.json").read_bytes(), mapping(name))


def test_karlsruhe_wgs84_with_free_spaces(shared_data):
    result = real(shared_data, "karlsruhe")
    facilities = result.records["facilities"]
    assert len(facilities) == 90
    assert result.report.count("error") == 0
    with_reading = [f for f in facilities if f.availability is not None]
    assert len(with_reading) == 39
    first = facilities[0]
    assert (first.name, first.capacity, first.max_height_cm) == ("Modepark Röther", 59, 185)
    assert (first.availability.free, first.availability.occupied) == (16, 43)
    assert first.availability.observed_at.isoformat() == "2024-11-27T18:39:00+00:00"


def test_freiburg_is_reprojected_from_utm_into_freiburg_im_breisgau(shared_data):
    facilities = real(shared_data, "freiburg").records["facilities"]
    assert len(facilities) == 19
    minster = (47.9955, 7.8530)  # Freiburg Minster
    for facility in facilities:
        assert 47.95 < facility.lat < 48.05
        assert 7.75 < facility.lon < 7.95
        assert geodesic(minster, (facility.lat, facility.lon)).m < 5000
    p5 = next(f for f in facilities if f.source_id == "P5")
    assert p5.availability.free == 56
    assert p5.capacity == 105
    # obs_ts is local time (CEST): 10:20 in Freiburg is 08:20 UTC.
    assert p5.availability.observed_at.isoformat() == "2024-06-10T08:20:00+00:00"


def test_freiburg_crs_is_read_from_the_document_without_a_mapping_crs(shared_data):
    doc = mapping("freiburg")
    doc.pop("crs")
    facilities = parse((shared_data / "parking/json/freiburg.json").read_bytes(), doc
                       ).records["facilities"]
    assert all(47.95 < f.lat < 48.05 for f in facilities)


@pytest.mark.parametrize(("name", "count", "errors"), [
    ("herrenberg", 26, {}), ("heidelberg", 22, {"missing_coordinates": 3}),
    ("pforzheim", 15, {})])
def test_city_json_lists(shared_data, name, count, errors):
    result = real(shared_data, name)
    assert len(result.records["facilities"]) == count
    assert result.report.by_code("error") == errors


def test_heidelberg_ngsi_values_are_unwrapped(shared_data):
    facilities = real(shared_data, "heidelberg").records["facilities"]
    p0 = next(f for f in facilities if f.source_id == "P0")
    assert p0.name == "P0 Am Bismarckplatz"
    assert p0.kind == "garage"
    assert p0.max_height_cm == 180
    assert "PayPal" in p0.payment_methods
    assert (p0.availability.free, p0.availability.status) == (1, "open")


def test_herrenberg_reads_the_document_time_and_kinds(shared_data):
    facilities = real(shared_data, "herrenberg").records["facilities"]
    garage = next(f for f in facilities if f.source_id == "herrenbergaltstadtgarage")
    assert garage.kind == "garage"
    assert garage.capacity_by_category == {"disabled": 2}
    assert garage.availability.free == 60
    assert garage.availability.observed_at.isoformat().startswith("2025-02-25T11:20:03")
    assert {f.kind for f in facilities} >= {"surface_lot", "park_and_ride", "underground"}


def test_pforzheim_german_booleans(shared_data):
    facilities = real(shared_data, "pforzheim").records["facilities"]
    assert all(f.opening_hours == "24/7" for f in facilities if f.opening_times)
    assert {f.kind for f in facilities} == {"garage", "underground"}


def test_small_projected_feature_lands_where_expected():
    # Freiburg Minster (47.9955 N, 7.8529 E) in ETRS89 / UTM 32N.
    document = {"type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
                "features": [{"type": "Feature", "id": "m", "geometry": {
                    "type": "Point", "coordinates": [414424.6, 5316436.7]},
                    "properties": {"name": "Minster"}}]}
    facility = parse(json.dumps(document).encode()).records["facilities"][0]
    assert geodesic((facility.lat, facility.lon), (47.9955, 7.8529)).m < 5
    assert facility.source_id == "m"


def test_polygon_lot_keeps_its_outline_and_a_point_inside():
    square = [[7.0, 50.0], [7.001, 50.0], [7.001, 50.001], [7.0, 50.001], [7.0, 50.0]]
    document = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [square]}, "properties": {"id": "a", "name": "A"}}]}
    facility = parse(json.dumps(document).encode()).records["facilities"][0]
    assert facility.geometry["type"] == "Polygon"
    assert 50.0 < facility.lat < 50.001
    assert 7.0 < facility.lon < 7.001


def test_wrong_crs_is_reported_per_record_not_silently_misplaced():
    document = {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {
        "type": "Point", "coordinates": [414183.0, 5316717.0]}, "properties": {"id": "x"}}]}
    result = parse(json.dumps(document).encode())
    assert result.records["facilities"] == []
    assert result.report.by_code("error") == {"coordinates_out_of_range": 1}


@pytest.mark.parametrize(("mapping_doc", "message"), [
    ({"fields": {"colour": "c"}}, "unknown fields"),
    ({"record_type": "tree"}, "record_type"),
    ({"crs": "EPSG:999999"}, "unknown crs"),
    ({"fields": {"name": {"values": {}}}}, "needs 'field'"),
    ({"recods": "lots"}, "unknown keys"),
    ("just text", "must be an object"),
])
def test_invalid_mapping_is_a_clear_error(mapping_doc, message):
    with pytest.raises(FeedFormatError, match=message) as caught:
        parse(b'{"type": "FeatureCollection", "features": []}', mapping_doc)
    assert caught.value.code == "invalid_mapping"


def test_records_path_that_is_not_a_list_is_an_error():
    with pytest.raises(FeedFormatError, match="'lots'"):
        parse(b'{"lots": {"a": 1}}', {"records": "lots"})
