"""The fast paths of the streamed tables: block-wise line splitting and COPY in CSV format."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from providers.base import ValidationReport
from providers.gtfs.reader import _LineCheck
from providers.models import FeedVersion
from providers.transit.models import TransitShapePoint, TransitStopTime
from providers.transit.queries import departures
from providers.transit.store import drop_orphan_partitions
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
    rows = session.execute(
        sa.select(TransitStopTime.stop_headsign, TransitStopTime.pickup_type,
                  TransitStopTime.shape_dist_traveled, TransitStopTime.departure_secs)
        .where(TransitStopTime.feed_version_id == outcome.feed_version_id)
        .order_by(TransitStopTime.stop_sequence)).all()
    assert [r[0] for r in rows] == [*headsigns, None]
    assert [r[1] for r in rows] == [None, 1, None, 1, None]
    assert [r[2] for r in rows] == [0.0, 0.5, 1.0, 1.5, None]
    assert rows[-1][3] == 8 * 3600 + 30 * 60
    points = session.execute(
        sa.select(TransitShapePoint.shape_id, TransitShapePoint.dist_traveled)
        .where(TransitShapePoint.feed_version_id == outcome.feed_version_id)
        .order_by(TransitShapePoint.shape_id)).all()
    assert [tuple(p) for p in points] == [("S,1", None), ("S2", 12.5)]


def test_postgresql_keeps_one_stop_time_partition_per_live_version(session):
    if session.connection().dialect.name != "postgresql":
        pytest.skip("stop_times are partitioned by feed version on PostgreSQL only")
    ids = []
    for n in range(5):  # the sync keeps two superseded versions; the fourth import prunes v1
        stops = BASE_FEED["stops.txt"] + f"X{n},Extra {n},40.7,-73.9,0,\n"
        outcome = import_gtfs_bytes(session, gtfs_zip({"stops.txt": stops}))
        assert outcome.ok, outcome.message
        ids.append(outcome.feed_version_id)
    # After a real commit this runs on its own connection; the test's transaction never
    # commits, so run it here to see what it drops.
    assert sorted(drop_orphan_partitions(session.connection())) == [
        f"transit_stop_time_v{ids[0]}", f"transit_stop_time_v{ids[1]}"]  # pruned by 4 and 5
    partitions = set(session.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'transit_stop_time'::regclass")).scalars())
    assert f"transit_stop_time_v{ids[0]}" not in partitions
    assert f"transit_stop_time_v{ids[-1]}" in partitions
    with_rows = set(session.scalars(sa.select(TransitStopTime.feed_version_id).distinct()))
    assert with_rows == set(session.scalars(sa.select(FeedVersion.id))) & set(ids)
    assert session.scalar(sa.select(sa.func.count()).select_from(TransitStopTime).where(
        TransitStopTime.feed_version_id == ids[-1])) == 8


def test_postgresql_prunes_a_version_by_truncating_its_partition_then_dropping_it(session):
    if session.connection().dialect.name != "postgresql":
        pytest.skip("stop_times are partitioned by feed version on PostgreSQL only")

    def partition_file(version_id: int) -> int | None:
        return session.scalar(sa.text("SELECT relfilenode FROM pg_class WHERE relname = :name"),
                              {"name": f"transit_stop_time_v{version_id}"})

    ids, files = [], []
    for n in range(4):  # two superseded versions are kept: the fourth import prunes the first
        stops = BASE_FEED["stops.txt"] + f"X{n},Extra {n},40.7,-73.9,0,\n"
        outcome = import_gtfs_bytes(session, gtfs_zip({"stops.txt": stops}))
        assert outcome.ok, outcome.message
        ids.append(outcome.feed_version_id)
        files.append(partition_file(outcome.feed_version_id))
    assert session.get(FeedVersion, ids[0]) is None
    # Emptied by TRUNCATE (a new, empty file), not row by row; dropped once the import commits.
    assert partition_file(ids[0]) not in (None, files[0])
    assert session.scalar(sa.text(f"SELECT count(*) FROM transit_stop_time_v{ids[0]}")) == 0
    assert partition_file(ids[1]) == files[1]  # kept versions are untouched
    assert drop_orphan_partitions(session.connection()) == [f"transit_stop_time_v{ids[0]}"]
    assert partition_file(ids[0]) is None
    for version_id in ids[1:]:
        assert session.scalar(sa.select(sa.func.count()).select_from(TransitStopTime).where(
            TransitStopTime.feed_version_id == version_id)) == 8
    # The active version still serves departures.
    board = departures(session, None, "testtransit:A", window_minutes=120,
                       at=datetime(2024, 7, 2, 7, 30, tzinfo=ZoneInfo("America/New_York")))
    assert [(d["trip_id"], d["scheduled"]) for d in board["items"]] == [
        ("T1", "2024-07-02T08:00:00-04:00")]
