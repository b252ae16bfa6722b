"""The GTFS adapter on real feeds and on small hand-written ones: counts, tolerance, strictness."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest

from providers.base import FeedFormatError
from providers.gtfs import reader
from providers.gtfs.adapter import GtfsAdapter, parse_time
from tests.providers.transit.factories import BASE_FEED, gtfs_zip


def parse_counts(content: bytes) -> tuple[dict[str, int], object]:
    """Drain every record stream the way the writer does and count the records."""
    result = GtfsAdapter().parse(content, {})
    counts = {name: sum(1 for _ in rows) for name, rows in result.records.items()}
    return counts, result.report


def test_caltrain_counts_match_the_published_feed(shared_data):
    counts, report = parse_counts((shared_data / "gtfs/caltrain/ct.zip").read_bytes())
    assert (counts["stops"], counts["trips"], counts["stop_times"]) == (109, 176, 3498)
    assert not report.rejected
    # Extension files of Caltrain are reported, not fatal.
    assert report.by_code("warning")["unknown_file"] == 4


@pytest.mark.slow
@pytest.mark.parametrize(("path", "expected"), [
    ("hart-tampa/hart.zip", (2349, 13217, 438421)),
    ("nyc-subway-2018/nyc_subway.zip", (1223, 15911, 446924)),
])
def test_big_real_feeds_stream_with_exact_counts(shared_data, path, expected):
    counts, report = parse_counts((shared_data / "gtfs" / path).read_bytes())
    assert (counts["stops"], counts["trips"], counts["stop_times"]) == expected
    assert report.count("error") == 0


@pytest.mark.parametrize(("name", "trips"), [
    ("sample-feed.zip", 11), ("sample-feed-fixed.zip", 11), ("sample-feed-bom.zip", 11),
    ("sample-feed-calendar_dates.zip", 7),
    # No calendar.txt in these two: service WE is defined nowhere, so its 4 trips never run.
    ("sample-feed-plus.zip", 7),
])
def test_google_sample_variants_parse(shared_data, name, trips):
    counts, report = parse_counts((shared_data / "gtfs/google-sample" / name).read_bytes())
    assert not report.rejected
    assert counts["stops"] == 9
    assert counts["trips"] == trips
    assert report.counts["undefined_service"] == 11 - trips


def test_sample_feed_without_stop_times_is_rejected(shared_data):
    content = (shared_data / "gtfs/google-sample/sample-feed-invalid.zip").read_bytes()
    result = GtfsAdapter().parse(content, {})
    assert result.report.rejected
    assert result.report.fatal[0].code == "missing_required_file"
    assert result.report.fatal[0].file == "stop_times.txt"


def test_bullrunner_frequencies_mark_their_trips(shared_data):
    result = GtfsAdapter().parse((shared_data / "gtfs/bullrunner/bullrunner-gtfs.zip")
                                 .read_bytes(), {})
    trips = list(result.records["trips"])
    assert len(trips) == 15
    assert len(list(result.records["frequencies"])) == 15
    assert all(trip[-1] for trip in trips)  # every Bull Runner trip runs by frequency


def test_bom_crlf_spaces_in_headers_and_unknown_columns_are_tolerated():
    stops = ("\ufeff stop_id , stop_name ,stop_lat, stop_lon,location_type,parent_station,"
             "colour\r\nA,Alpha Station,40.75,-73.99,1,,red\r\nA1,Alpha 1,40.7501,-73.9901,0,A,"
             "\nB,Bravo,40.76,-73.98,0,,\r\n")
    counts, report = parse_counts(gtfs_zip({"stops.txt": stops.encode("utf-8")}))
    assert counts["stops"] == 3
    assert counts["stop_times"] == 8
    assert report.by_code("warning") == {"unknown_column": 1}
    assert report.count("error") == 0


def test_feed_in_one_sub_folder_with_extra_members_is_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in BASE_FEED.items():
            archive.writestr(f"gtfs/{name}", content)
        archive.writestr("gtfs/README.pdf", b"%PDF-1.4")
    counts, report = parse_counts(buffer.getvalue())
    assert counts["trips"] == 4
    assert report.by_code("warning") == {"unknown_file": 1}


def test_only_calendar_dates_is_enough():
    counts, report = parse_counts(gtfs_zip({"calendar.txt": None, "calendar_dates.txt":
                                            "service_id,date,exception_type\n"
                                            "WEEK,20240702,1\nHOLIDAY,20240703,1\n"}))
    assert not report.rejected
    assert counts["trips"] == 4


def test_times_past_24_hours_are_kept_as_seconds():
    assert parse_time("25:00:00") == 90000
    assert parse_time("4:05:49") == 4 * 3600 + 5 * 60 + 49
    assert parse_time("12:60:00") is None
    assert parse_time("noon") is None


@pytest.mark.parametrize(("stop_times", "code"), [
    ("T1,08:00:00,08:00:00,NOWHERE,1\n", "undefined_stop"),
    ("GHOST,08:00:00,08:00:00,A1,1\n", "undefined_trip"),
    ("T1,08:00:00,08:00:00,A1,-1\n", "negative_stop_sequence"),
    ("T1,08:00:00,08:00:00,A1,1\nT1,08:05:00,08:05:00,B,1\n", "duplicate_stop_sequence"),
    ("T1,8h,8h,A1,1\n", "invalid_time"),
])
def test_bad_stop_times_are_reported_with_location_and_dropped(stop_times, code):
    header = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    result = GtfsAdapter().parse(gtfs_zip({"stop_times.txt": header + stop_times}), {})
    rows = list(result.records["stop_times"])
    issue = result.report.examples[code][0]
    assert issue.file == "stop_times.txt"
    assert issue.line == len(stop_times.splitlines()) + 1
    assert result.report.severities[code] == "error"
    assert len(rows) == len(stop_times.splitlines()) - 1


def test_out_of_range_coordinates_drop_the_stop():
    stops = BASE_FEED["stops.txt"] + "Z,Bad,95.0,10.0,0,\n"
    counts, report = parse_counts(gtfs_zip({"stops.txt": stops}))
    assert counts["stops"] == 3
    assert report.examples["coordinate_out_of_range"][0].line == 5


def test_duplicate_keys_and_bad_dates_are_errors():
    calendar = BASE_FEED["calendar.txt"] + "WEEK,1,1,1,1,1,0,0,20240101,20241231\n" \
        "BAD,1,1,1,1,1,0,0,2024.01.01,20241231\n"
    result = GtfsAdapter().parse(gtfs_zip({"calendar.txt": calendar}), {})
    assert result.report.by_code("error") == {"duplicate_key": 1, "invalid_date": 1}
    assert len(result.records["calendar"]) == 1


def test_problem_examples_are_capped_but_counted():
    rows = "".join(f"GHOST{i},08:00:00,08:00:00,A1,1\n" for i in range(100))
    header = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    result = GtfsAdapter().parse(gtfs_zip({"stop_times.txt": header + rows}), {})
    list(result.records["stop_times"])
    assert result.report.counts["undefined_trip"] == 100
    assert len(result.report.examples["undefined_trip"]) == 20


def test_utf16_and_nul_and_invalid_utf8_are_reported_not_crashes():
    agency16 = BASE_FEED["agency.txt"].encode("utf-16")
    result = GtfsAdapter().parse(gtfs_zip({"agency.txt": agency16}), {})
    assert result.report.rejected
    assert "invalid_encoding" in result.report.counts
    stops = (BASE_FEED["stops.txt"].encode() + b"C,Bad \xff name,40.7,-73.9,0,\n"
             b"D,Nul\x00,40.7,-73.9,0,\n")
    result = GtfsAdapter().parse(gtfs_zip({"stops.txt": stops}), {})
    assert result.report.by_code("error") == {"invalid_utf8": 1, "null_character": 1}
    assert len(result.records["stops"]) == 3


def test_not_a_zip_is_a_format_error():
    with pytest.raises(FeedFormatError, match="not a zip"):
        GtfsAdapter().parse(b"stop_id,stop_name\nA,B\n", {})


def test_zip_bomb_is_refused_before_reading(monkeypatch):
    # A real highly compressible member; the limits are lowered so the test stays small.
    monkeypatch.setattr(reader, "RATIO_CHECK_FLOOR", 1024)
    content = gtfs_zip({"shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                        + "S,40.0,-73.0,1\n" * 200_000})
    with pytest.raises(FeedFormatError) as caught:
        GtfsAdapter().parse(content, {})
    assert caught.value.code == "zip_bomb"


def test_too_many_members_are_refused(monkeypatch):
    monkeypatch.setattr(reader, "MAX_MEMBERS", 5)
    with pytest.raises(FeedFormatError) as caught:
        GtfsAdapter().parse(gtfs_zip(), {})
    assert caught.value.code == "zip_too_many_members"


def test_missing_required_column_rejects_the_feed():
    result = GtfsAdapter().parse(gtfs_zip({"trips.txt": "route_id,trip_id\nR1,T1\n"}), {})
    assert result.report.rejected
    fatal = Counter(i.code for i in result.report.fatal)
    assert fatal["missing_required_column"] == 1
