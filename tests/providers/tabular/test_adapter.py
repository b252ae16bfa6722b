"""CSV through mappings: Bielefeld, Reutlingen, Friedrichshafen segments and robustness."""

import pytest

from providers.base import FeedFormatError
from providers.tabular.adapter import CsvAdapter
from tests.factories.parking import mapping


def parse(payload: bytes, mapping_doc=None):
    config = {"source": "feed.csv"}
    if mapping_doc is not None:
        config["mapping"] = mapping_doc
    return CsvAdapter().parse(payload, config)


def test_bielefeld_semicolon_wkt(shared_data):
    result = parse((shared_data / "parking/csv/bielefeld.csv").read_bytes(), mapping("bielefeld"))
    facilities = result.records["facilities"]
    assert len(facilities) == 853
    assert result.report.count("error") == 0
    assert all(51.9 < f.lat < 52.2 and 8.3 < f.lon < 8.8 for f in facilities)
    kesselbrink = next(f for f in facilities if f.source_id == "660-1")
    assert (kesselbrink.kind, kesselbrink.capacity, kesselbrink.max_height_cm) == (
        "underground", 383, 200)
    assert kesselbrink.availability.free == 203
    assert kesselbrink.availability.observed_at.isoformat() == "2026-02-06T07:35:00+00:00"


def test_reutlingen_comma_delimited(shared_data):
    result = parse((shared_data / "parking/csv/reutlingen.csv").read_bytes(),
                   mapping("reutlingen"))
    facilities = result.records["facilities"]
    assert len(facilities) == 114
    first = facilities[0]
    assert (first.source_id, first.name, first.capacity, first.kind) == (
        "76997", "Dietweg", 110, "surface_lot")


def test_friedrichshafen_segments_become_zones(shared_data):
    result = parse((shared_data / "parking/csv/friedrichshafen_easypark.csv").read_bytes(),
                   mapping("friedrichshafen_easypark"))
    zones = result.records["zones"]
    assert len(zones) == 1697
    assert result.report.count("error") == 0
    first = zones[0]
    assert first.geometry["type"] == "LineString"
    assert first.kind == "segment"
    assert first.rules["permissions"] == "FreeParking"
    assert first.rules["length_m"] == pytest.approx(7.11523)  # decimal comma


def test_sniffed_delimiter_bom_crlf_lat_lon_and_decimal_commas():
    payload = "\ufeffid\t lat \tlon\tplaces\r\na\t50,5\t6,25\t12\r\nb\t50,6\t6,3\t\r\n".encode()
    result = parse(payload, {"fields": {"source_id": "id", "lat": "lat", "lon": "lon",
                                        "capacity": "places"}})
    facilities = result.records["facilities"]
    assert [(f.source_id, f.lat, f.lon, f.capacity) for f in facilities] == [
        ("a", 50.5, 6.25, 12), ("b", 50.6, 6.3, None)]


def test_bad_rows_are_reported_with_line_numbers():
    payload = b"id;wkt\n1;POINT (6 50)\n2;POINT (nonsense)\n3;\n"
    result = parse(payload, {"fields": {"source_id": "id", "wkt": "wkt"}})
    assert [f.source_id for f in result.records["facilities"]] == ["1"]
    assert result.report.by_code("error") == {"invalid_geometry": 1, "missing_coordinates": 1}
    assert result.report.examples["invalid_geometry"][0].line == 3


def test_windows_1252_file_is_read_with_a_warning():
    payload = "id;name;wkt\n1;Marktstraße;POINT (6 50)\n".encode("cp1252")
    result = parse(payload, {"fields": {"source_id": "id", "name": "name", "wkt": "wkt"}})
    assert result.records["facilities"][0].name == "Marktstraße"
    assert result.report.by_code("warning") == {"not_utf8": 1}


def test_csv_needs_a_mapping():
    with pytest.raises(FeedFormatError, match="needs a field mapping"):
        parse(b"id;wkt\n1;POINT (6 50)\n")


def test_mapping_naming_a_missing_column_is_refused():
    with pytest.raises(FeedFormatError, match="no column 'kapazitaet'"):
        parse(b"id;wkt\n1;POINT (6 50)\n", {"fields": {"source_id": "id", "wkt": "wkt",
                                                        "capacity": "kapazitaet"}})


@pytest.mark.parametrize("payload", [b"", b"\x00\x01\x02binary", b"justonecolumn\nx\n"])
def test_not_csv_is_a_clear_error(payload):
    with pytest.raises(FeedFormatError):
        parse(payload, {"fields": {"source_id": "id", "wkt": "wkt"}})
