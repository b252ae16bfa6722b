"""Importing GTFS through the real sync and CLI: versions, counts, rejections, no half-writes."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
import sqlalchemy as sa

from providers.models import Feed, FeedVersion
from providers.transit.models import TransitPattern, TransitStop, TransitTripBlock
from providers.transit.trips import version_trips
from tests.providers.transit.factories import BASE_FEED, gtfs_zip, import_file, import_gtfs_bytes

BAD = "gtfs/bad/transitfeed"


def rows_of(session, model, version_id):
    return session.scalar(sa.select(sa.func.count()).select_from(model)
                          .where(model.feed_version_id == version_id))


def stop_times_of(session, version_id):
    """Stop times stored for a version: per pattern, its trips times its stops."""
    return session.scalar(
        sa.select(sa.func.sum(sa.func.length(TransitPattern.trip_indexes) / 4
                              * TransitPattern.stop_count))
        .where(TransitPattern.feed_version_id == version_id))


def test_cli_import_prints_json_counts_keyed_by_gtfs_file(mobihub, shared_data, session):
    result = mobihub("feeds", "import", str(shared_data / "gtfs/caltrain/ct.zip"),
                     "--provider", "caltrain", "--format", "gtfs", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["status"] == "imported"
    assert (body["counts"]["stops"], body["counts"]["trips"],
            body["counts"]["stop_times"]) == (109, 176, 3498)
    version = session.get(FeedVersion, body["feed_version_id"])
    assert version.status == "active"
    assert (str(version.service_start), str(version.service_end)) == ("2023-09-23", "2024-06-01")
    assert stop_times_of(session, version.id) == 3498
    assert body["warnings"]["unknown_file"] == 4


def test_reimporting_identical_content_is_a_no_op(session, shared_data):
    first = import_file(session, shared_data / "gtfs/caltrain/ct.zip", "caltrain")
    second = import_file(session, shared_data / "gtfs/caltrain/ct.zip", "caltrain")
    assert second.status == "unchanged"
    assert second.feed_version_id == first.feed_version_id
    assert session.scalar(sa.select(sa.func.count()).select_from(FeedVersion)) == 1


def test_broken_update_keeps_serving_the_previous_version(session):
    good = import_gtfs_bytes(session, gtfs_zip())
    broken = import_gtfs_bytes(session, gtfs_zip({"stops.txt": None}))
    assert broken.status == "rejected"
    feed = session.scalar(sa.select(Feed).where(Feed.format == "gtfs"))
    assert feed.active_version_id == good.feed_version_id
    rejected = session.get(FeedVersion, broken.feed_version_id)
    assert rejected.status == "rejected"
    assert rows_of(session, TransitTripBlock, rejected.id) == 0
    assert rows_of(session, TransitStop, good.feed_version_id) == 3


def test_errors_found_while_streaming_can_reject_after_writing_and_nothing_stays(session):
    # Every stop time references an unknown trip: stop_times ends up empty, which is fatal
    # only once streaming has run; the writer's rows must vanish with the rollback.
    header = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    outcome = import_gtfs_bytes(session, gtfs_zip({
        "stop_times.txt": header + "GHOST,08:00:00,08:00:00,A1,1\n"}))
    assert outcome.status == "imported"  # a feed whose trips have no times is served, warned
    assert outcome.report.counts["undefined_trip"] == 1
    assert outcome.report.counts["trip_without_stop_times"] == 1


def test_new_version_replaces_old_and_old_versions_are_pruned(session):
    ids = []
    for n in range(5):
        stops = BASE_FEED["stops.txt"] + f"X{n},Extra {n},40.7,-73.9,0,\n"
        ids.append(import_gtfs_bytes(session, gtfs_zip({"stops.txt": stops})).feed_version_id)
    remaining = set(session.scalars(sa.select(FeedVersion.id)))
    assert ids[-1] in remaining
    assert ids[0] not in remaining  # pruned; its rows cascaded
    assert rows_of(session, TransitStop, ids[0]) == 0
    assert rows_of(session, TransitStop, ids[-1]) == 4


BAD_CASES = sorted(
    p for p in ["au-sydney-entrances", "bad_date_format", "bad_eol.zip", "bad_utf8",
                "contains_null", "duplicate_schedule_id", "duplicate_stop",
                "duplicate_stop_sequence", "empty_file", "extra_row_cells",
                "filter_unusual_trips", "flatten_feed", "good_feed", "good_feed.zip",
                "googletransit", "invalid_agency_ids", "invalid_route_agency", "missing_agency",
                "missing_calendar", "missing_column", "missing_departure_time",
                "missing_endpoint_times", "missing_routes", "missing_row_cells",
                "missing_stop_times", "missing_stops", "missing_trips",
                "missing_weekday_column", "negative_stop_sequence", "one_line.kml",
                "one_stop.kml", "only_calendar_dates", "repeated_route_name",
                "same_short_long_name", "undefined_stop", "unknown_file", "unknown_format.zip",
                "unrecognized_columns", "unused_stop", "upgrade_translations", "utf16",
                "utf8bom"])

# What each broken feed must produce: "rejected" with a code, or accepted with a code reported.
EXPECTED = {
    "au-sydney-entrances": ("rejected", "missing_required_file"),
    "bad_date_format": ("imported", "invalid_date"),
    "bad_utf8": ("rejected", "invalid_utf8"),
    "contains_null": ("imported", "null_character"),
    "duplicate_schedule_id": ("imported", "duplicate_key"),
    "duplicate_stop": ("imported", "stops_too_close"),
    "duplicate_stop_sequence": ("imported", "duplicate_stop_sequence"),
    "empty_file": ("rejected", "empty_file"),
    "extra_row_cells": ("imported", "extra_row_cells"),
    "googletransit": ("rejected", "no_gtfs_files"),
    "invalid_agency_ids": ("imported", "missing_agency_id"),
    "invalid_route_agency": ("imported", "undefined_agency"),
    "missing_agency": ("rejected", "missing_required_file"),
    "missing_calendar": ("rejected", "missing_calendar"),
    "missing_column": ("rejected", "missing_required_column"),
    "missing_departure_time": ("imported", "missing_departure_time"),
    "missing_endpoint_times": ("imported", "missing_endpoint_time"),
    "missing_routes": ("rejected", "missing_required_file"),
    "missing_row_cells": ("imported", "missing_row_cells"),
    "missing_stop_times": ("rejected", "missing_required_file"),
    "missing_stops": ("rejected", "missing_required_file"),
    "missing_trips": ("rejected", "missing_required_file"),
    "missing_weekday_column": ("rejected", "missing_required_column"),
    "negative_stop_sequence": ("imported", "negative_stop_sequence"),
    "one_line.kml": ("rejected", "not_a_zip"),
    "one_stop.kml": ("rejected", "not_a_zip"),
    "repeated_route_name": ("imported", "duplicate_route_name"),
    "same_short_long_name": ("imported", "route_short_name_equals_long_name"),
    "undefined_stop": ("imported", "undefined_stop"),
    "unknown_file": ("imported", "unknown_file"),
    "unknown_format.zip": ("rejected", "not_a_zip"),
    "unrecognized_columns": ("imported", "unknown_column"),
    "unused_stop": ("imported", "unused_stop"),
    "upgrade_translations": ("rejected", "no_gtfs_files"),
    "utf16": ("rejected", "invalid_encoding"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_every_transitfeed_case_ends_in_a_clear_report(session, shared_data, case):
    outcome = import_file(session, shared_data / BAD / case, f"bad {case}")
    status, code = EXPECTED.get(case, ("imported", None))
    assert outcome.status == status, outcome.as_dict()
    if code is not None:
        assert outcome.report.counts[code] >= 1, outcome.as_dict()
    else:
        assert outcome.report.count("error") == 0, outcome.as_dict()
    version = session.get(FeedVersion, outcome.feed_version_id)
    assert version.status == ("active" if status == "imported" else "rejected")
    if status == "rejected":
        assert rows_of(session, TransitStop, version.id) == 0  # nothing half-written
        assert outcome.report.top(1)[0].message


def test_cli_rejection_exits_1_with_top_problems_and_no_traceback(mobihub, shared_data):
    result = mobihub("feeds", "import", str(shared_data / BAD / "missing_stops"),
                     "--provider", "broken", "--format", "gtfs")
    assert result.exit_code == 1
    assert "stops.txt is required" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_hart_imports_with_published_counts(mobihub, shared_data, session):
    result = mobihub("feeds", "import", str(shared_data / "gtfs/hart-tampa/hart.zip"),
                     "--provider", "hart", "--format", "gtfs", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)["counts"]
    assert (counts["stops"], counts["trips"], counts["stop_times"]) == (2349, 13217, 438421)
    version_id = json.loads(result.output)["feed_version_id"]
    assert stop_times_of(session, version_id) == 438421


def test_trip_fields_are_stored_exactly_as_the_feed_gives_them(session):
    """Trips are packed in blocks (providers.transit.trips): ids that look like numbers stay
    text, and quotes, backslashes and non-ASCII survive; each trip's index is its place in
    trips.txt."""
    trips = ("route_id,service_id,trip_id,trip_headsign,direction_id,block_id\n"
             'R1,WEEK,T1,"Zürich ⇄ ""Gare"" \\ 東京 🚋",1,007\n'
             "R1,WEEK,T_NIGHT,Bravo night,0,\n"
             "R1,HOLIDAY,T_HOL,,1,12\n"
             "R1,WEEK,T_FREQ,Bravo shuttle,0,\n")
    outcome = import_gtfs_bytes(session, gtfs_zip({"trips.txt": trips}))
    assert outcome.ok, outcome.message
    stored = {trip.trip_id: trip for trip in version_trips(
        session, outcome.feed_version_id).at(range(4)).values()}
    assert stored["T1"].headsign == 'Zürich ⇄ "Gare" \\ 東京 🚋'
    assert stored["T1"].block_id == "007"
    assert stored["T_HOL"].block_id == "12"
    assert stored["T_HOL"].headsign is None
    assert [stored[t].direction_id for t in ("T1", "T_NIGHT", "T_HOL")] == [1, 0, 1]
    assert stored["T_FREQ"].frequency_based is True
    assert stored["T1"].frequency_based is False
    assert [stored[t].trip_index for t in ("T1", "T_NIGHT", "T_HOL", "T_FREQ")] == [0, 1, 2, 3]


@pytest.mark.postgres_only
def test_an_import_leaves_statistics_on_the_columns_queries_filter_on(session):
    import_gtfs_bytes(session, gtfs_zip())
    analyzed = {tuple(row) for row in session.execute(sa.text(
        "SELECT tablename, attname FROM pg_stats WHERE tablename IN "
        "('transit_trip_block', 'transit_pattern_stop', 'transit_stop')"))}
    assert {("transit_pattern_stop", "stop_id"), ("transit_pattern_stop", "pattern_id"),
            ("transit_stop", "lat")} <= analyzed
    # Texts and numbers no query filters on, and tables read by key: no statistics spent.
    assert ("transit_pattern_stop", "stop_sequence") not in analyzed
    assert not {column for table, column in analyzed if table == "transit_trip_block"}


@pytest.mark.postgres_only
def test_an_import_s_statistics_sample_size_and_memory_do_not_outlive_it(session):
    settings = sa.text("SELECT current_setting('default_statistics_target'), "
                       "current_setting('work_mem')")
    default = session.execute(settings).one()
    import_gtfs_bytes(session, gtfs_zip())
    assert session.execute(settings).one() == default


@pytest.mark.postgres_only
def test_a_copy_s_new_rows_get_room_in_memory_for_the_copy_only(session):
    from providers.transit.store import NEW_ROWS_MEMORY_LIMIT_KB, _room_for_new_rows

    connection = session.connection()

    def work_mem_kb() -> int:
        return int(connection.exec_driver_sql(
            "SELECT setting FROM pg_settings WHERE name = 'work_mem'").scalar())

    def packed(megabytes: int) -> pa.Table:  # one 1 MB chunk, repeated: no memory spent
        return pa.table({"packed": pa.chunked_array([pa.array([b"\x00" * (1 << 20)])]
                                                    * megabytes)})

    before = work_mem_kb()
    rows = packed(12)
    with _room_for_new_rows(connection, rows):
        assert work_mem_kb() >= 12 * 1024 > before
    assert work_mem_kb() == before
    with _room_for_new_rows(connection, pa.table({"n": pa.array([1])})):
        assert work_mem_kb() == before  # never lowered
    with _room_for_new_rows(connection, packed(300)):
        assert work_mem_kb() == NEW_ROWS_MEMORY_LIMIT_KB
    assert work_mem_kb() == before
