"""The fast paths of the streamed tables: block-wise line splitting, packed stop times and
shapes, and what pruning leaves."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa

from providers.base import ValidationReport
from providers.gtfs.reader import _LineCheck
from providers.models import FeedVersion
from providers.transit.models import (
    TransitPattern,
    TransitPatternStop,
    TransitShape,
    TransitTripBlock,
)
from providers.transit.queries import departures
from providers.transit.timetable import shape_points, trip_stop_times
from providers.transit.trips import version_trips
from tests.providers.transit.factories import BASE_FEED, gtfs_zip, import_gtfs_bytes

TEXTS = [
    "a,b\nc,d\n",
    "a,b\r\nc,d\r\n",
    "a,b\rc,d\re,f",  # old Mac line endings, no final newline
    "a,b\r\nc,d\ne,f\rg,h\r\n",  # mixed
    'a,"multi\r\nline",b\nc,d\n',
    "caf\u00e9,\u00fc\n\u20ac,x\r\n",
    "bad \udcff byte\nnul\x00here\nok\n",
]


def reference_lines(text: str) -> list[str]:
    """What the TextIOWrapper the reader wraps yields line by line (newline='')."""
    return list(io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogateescape")),
                                 encoding="utf-8", errors="surrogateescape", newline=""))


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("block", [1, 2, 3, 5, 64])
def test_block_lines_match_line_by_line_reading(text, block):
    wrapper = io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogateescape")),
                               encoding="utf-8", errors="surrogateescape", newline="")
    lines = list(_LineCheck(wrapper, "x.txt", ValidationReport(), block_chars=block))
    assert lines == [line.replace("\x00", "") for line in reference_lines(text)]


def test_bad_lines_are_flagged_in_any_block():
    text = "ok\nbad \udcff\nok\n"
    wrapper = io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogateescape")),
                               encoding="utf-8", errors="surrogateescape", newline="")
    check = _LineCheck(wrapper, "x.txt", ValidationReport(), block_chars=4)
    flags = []
    for _ in check:
        flags.append(check.bad)
        check.bad = None
    assert flags == [None, "invalid_utf8", None]


def test_stop_time_and_shape_text_survive_the_bulk_path_exactly(session):
    # Headsigns with the CSV format's special characters, unicode, and NULLs next to values.
    headsigns = ['Bravo, "the" one', "line\nbreak", "tab\there \\ backslash", "\u00dcber"]
    stop_times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence,stop_headsign," \
                 "pickup_type,shape_dist_traveled\n"
    for i, text in enumerate(headsigns):
        quoted = '"' + text.replace('"', '""') + '"'
        stop_times += f"T1,08:0{i}:00,08:0{i}:00,A1,{i + 1},{quoted},{i % 2 or ''},{i * 0.5}\n"
    stop_times += "T1,08:30:00,08:30:00,B,9,,,\n"
    shapes = ("shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n"
              '"S,1",40.75,-73.99,1,\nS2,40.76,-73.98,2,12.5\n')
    outcome = import_gtfs_bytes(session, gtfs_zip({
        "trips.txt": "route_id,service_id,trip_id\nR1,WEEK,T1\n",
        "stop_times.txt": stop_times, "frequencies.txt": None, "shapes.txt": shapes}))
    assert outcome.ok, outcome.message
    rows = trip_stop_times(session, outcome.feed_version_id, ["T1"])["T1"]
    assert [r.stop_headsign for r in rows] == [*headsigns, None]
    assert [r.pickup_type for r in rows] == [None, 1, None, 1, None]
    assert [r.shape_dist_traveled for r in rows] == [0.0, 0.5, 1.0, 1.5, None]
    assert [r.timepoint for r in rows] == [None] * 5
    assert rows[-1].departure_secs == 8 * 3600 + 30 * 60
    assert [r.stop_sequence for r in rows] == [1, 2, 3, 4, 9]
    version_id = outcome.feed_version_id
    assert shape_points(session, version_id, "S,1") == [(1, 40.75, -73.99, None)]
    assert shape_points(session, version_id, "S2") == [(2, 40.76, -73.98, 12.5)]
    assert shape_points(session, version_id, "nope") is None


def test_shapes_are_packed_one_row_per_shape_in_sequence_order(session):
    shapes = ("shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n"
              "S1,40.72,-73.97,20,2.0\nS2,40.80,-73.90,1,\nS1,40.70,-73.99,3,0.0\n"
              "S1,40.71,-73.98,7,\n")
    outcome = import_gtfs_bytes(session, gtfs_zip({"shapes.txt": shapes}))
    assert outcome.ok, outcome.message
    assert outcome.counts["shapes"] == 4
    version_id = outcome.feed_version_id
    assert shape_points(session, version_id, "S1") == [
        (3, 40.70, -73.99, 0.0), (7, 40.71, -73.98, None), (20, 40.72, -73.97, 2.0)]
    assert shape_points(session, version_id, "S2") == [(1, 40.80, -73.90, None)]
    assert session.scalar(sa.select(sa.func.count()).select_from(TransitShape).where(
        TransitShape.feed_version_id == version_id)) == 2
    assert session.scalar(sa.select(TransitShape.dist_traveled).where(
        TransitShape.feed_version_id == version_id, TransitShape.shape_id == "S2")) is None


def test_trips_sharing_stops_share_a_pattern(session):
    stop_times = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type\n"
                  "T1,08:00:00,08:00:00,A1,1,\nT1,08:30:00,08:30:00,B,2,\n"
                  "T2,07:00:00,07:00:00,A1,1,\nT2,07:20:00,07:20:00,B,2,\n"
                  "T3,09:00:00,09:00:00,A1,1,1\nT3,09:20:00,09:20:00,B,2,\n")
    outcome = import_gtfs_bytes(session, gtfs_zip({
        "trips.txt": "route_id,service_id,trip_id\nR1,WEEK,T1\nR1,WEEK,T2\nR1,WEEK,T3\n",
        "stop_times.txt": stop_times, "frequencies.txt": None}))
    assert outcome.ok, outcome.message
    version_id = outcome.feed_version_id
    names = version_trips(session, version_id).trip_ids
    patterns = {pattern.pattern_id: [names[i] for i in np.frombuffer(pattern.trip_indexes,
                                                                     "<i4").tolist()]
                for pattern in session.scalars(sa.select(TransitPattern).where(
                    TransitPattern.feed_version_id == version_id))}
    # T3 may not be boarded at A1: a pattern of its own.
    assert sorted(patterns.values()) == [["T1", "T2"], ["T3"]]
    shared = next(p for p, trips in patterns.items() if trips == ["T1", "T2"])
    first = session.execute(
        sa.select(TransitPatternStop).where(TransitPatternStop.feed_version_id == version_id,
                                            TransitPatternStop.pattern_id == shared,
                                            TransitPatternStop.position == 0)).scalar_one()
    assert first.stop_id == "A1"
    assert np.frombuffer(first.departure_secs, "<i4").tolist() == [7 * 3600, 8 * 3600]
    assert [names[i] for i in np.frombuffer(first.trip_indexes, "<i4").tolist()] == [
        "T2", "T1"]


def test_pruned_versions_leave_no_timetable_behind(session):
    ids = []
    for n in range(4):  # two superseded versions are kept: the fourth import prunes the first
        stops = BASE_FEED["stops.txt"] + f"X{n},Extra {n},40.7,-73.9,0,\n"
        outcome = import_gtfs_bytes(session, gtfs_zip({"stops.txt": stops}))
        assert outcome.ok, outcome.message
        ids.append(outcome.feed_version_id)
    assert session.get(FeedVersion, ids[0]) is None
    for model in (TransitPattern, TransitPatternStop, TransitTripBlock):
        with_rows = set(session.scalars(sa.select(model.feed_version_id).distinct()))
        assert ids[0] not in with_rows
        assert set(ids[1:]) <= with_rows
    # The active version still serves departures.
    board = departures(session, None, "testtransit:A", window_minutes=120,
                       at=datetime(2024, 7, 2, 7, 30, tzinfo=ZoneInfo("America/New_York")))
    assert [(d["trip_id"], d["scheduled"]) for d in board["items"]] == [
        ("T1", "2024-07-02T08:00:00-04:00")]
