"""ParkAPI v1 city files (the 16 real ones) and malformed documents."""

import json

import pytest

from providers.base import FeedFormatError
from providers.parkapi.adapter import ParkApiAdapter

# Lots per city file (the "city" feature excluded; Dresden lists three lots twice).
CITY_LOTS = {
    "Aachen": 14, "Basel": 16, "Bonn": 11, "Dresden": 57, "Frankfurt": 0, "Freiburg": 15,
    "Hamburg": 0, "Heidelberg": 20, "Ingolstadt": 13, "Karlsruhe": 21, "Koeln": 52,
    "Konstanz": 10, "Magdeburg": 16, "Mannheim": 26, "Muenster": 16, "Nuernberg": 19,
}


def parse(payload: bytes):
    return ParkApiAdapter().parse(payload, {"source": "city.geojson"})


def test_every_real_city_file_is_covered(shared_data):
    files = {p.stem for p in (shared_data / "parking/parkapi-v1").glob("*.geojson")}
    assert files == set(CITY_LOTS)


@pytest.mark.parametrize(("city", "lots"), sorted(CITY_LOTS.items()))
def test_city_file_gives_its_lots(shared_data, city, lots):
    result = parse((shared_data / f"parking/parkapi-v1/{city}.geojson").read_bytes())
    facilities = result.records["facilities"]
    assert len(facilities) == lots
    assert result.report.count("error") == 0
    assert result.meta["city"]
    assert len({f.source_id for f in facilities}) == lots


def test_lot_fields_and_kind(shared_data):
    result = parse((shared_data / "parking/parkapi-v1/Aachen.geojson").read_bytes())
    buechel = next(f for f in result.records["facilities"] if f.name == "Parkhaus Büchel")
    assert buechel.source_id == "parkhaus-buchel"
    assert (buechel.capacity, buechel.kind, buechel.address) == (356, "garage", "Büchel 39")
    assert (buechel.lat, buechel.lon) == (50.775875, 6.0865)


def test_repeated_lot_is_a_warning_not_a_second_facility(shared_data):
    result = parse((shared_data / "parking/parkapi-v1/Dresden.geojson").read_bytes())
    assert result.report.by_code("warning")["duplicate_lot"] == 3


def test_lot_without_point_is_reported():
    document = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": None, "properties": {"name": "Nowhere", "total": 5}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.7, 51.0]},
         "properties": {"name": "Somewhere", "type": "Tiefgarage"}},
    ]}
    result = parse(json.dumps(document).encode())
    assert [f.name for f in result.records["facilities"]] == ["Somewhere"]
    assert result.records["facilities"][0].kind == "underground"
    assert result.report.by_code("error") == {"missing_coordinates": 1}


@pytest.mark.parametrize(("payload", "message"), [
    (b"<xml/>", "not JSON"), (b'{"type": "Feature"}', "FeatureCollection"),
    (b"\xff\xfe\x00", "not UTF-8")])
def test_not_a_city_file_is_a_clear_error(payload, message):
    with pytest.raises(FeedFormatError, match=message):
        parse(payload)
