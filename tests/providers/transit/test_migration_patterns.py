"""Migration 0008: stored stop_times and shape points are carried into the packed tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session

from app.migrate import alembic_config, head_revisions, upgrade
from providers.models import Feed, FeedVersion, Provider
from providers.transit.queries import departures, get_trip
from providers.transit.timetable import shape_points, trip_stop_times
from tests.conftest import fresh_database

PATTERNS = "0008_transit_patterns"
STOP_TIMES = [  # trip, sequence, stop, arrival, departure, headsign, pickup, distance
    ("T1", 1, "A1", 8 * 3600, 8 * 3600, None, None, 0.0),
    ("T1", 2, "B", 8 * 3600 + 1800, 8 * 3600 + 1860, "Last", None, 1.5),
    ("T2", 1, "A1", 9 * 3600, 9 * 3600, None, None, None),
    ("T2", 2, "B", 9 * 3600 + 1800, 9 * 3600 + 1800, "Last", None, None),
    ("T3", 1, "A1", 10 * 3600, 10 * 3600, None, 1, None),
    ("T3", 2, "B", 10 * 3600 + 1800, 10 * 3600 + 1800, None, None, None),
]


def _heads_without_patterns(engine: sa.Engine) -> list[str]:
    """The heads of every branch except the one 0008 is on (what a database had before it)."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return sorted(head for head in head_revisions(engine) if PATTERNS not in {
        revision.revision for revision in script.iterate_revisions(head, "base")})


def _old_schema_with_a_served_version(engine: sa.Engine) -> int:
    """A database before 0008 (every other branch at its head) holding one active version."""
    for head in _heads_without_patterns(engine):
        upgrade(engine, head)
    upgrade(engine, "0002_transit")
    with Session(engine) as session:
        provider = Provider(slug="old", name="Old")
        session.add(provider)
        session.flush()
        feed = Feed(provider_id=provider.id, format="gtfs", config={})
        session.add(feed)
        session.flush()
        version = FeedVersion(feed_id=feed.id, content_sha256="0" * 64, content_bytes=1,
                              source="old.zip", fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                              imported_at=datetime(2024, 1, 1, tzinfo=UTC), status="active",
                              counts={}, report={}, error_count=0, warning_count=0)
        session.add(version)
        session.flush()
        feed.active_version_id = version.id
        session.commit()
        v = version.id
    with engine.begin() as connection:
        run = connection.execute
        if engine.dialect.name == "postgresql":  # the old writer's partition per version
            connection.exec_driver_sql(f"CREATE TABLE transit_stop_time_v{v} PARTITION OF "
                                       f"transit_stop_time FOR VALUES IN ({v})")
        run(sa.text("INSERT INTO transit_agency VALUES (:v, 'AG', 'Old Transit', NULL, "
                    "'America/New_York', NULL, NULL)"), {"v": v})
        for i, (stop, parent, kind) in enumerate((("A", None, 1), ("A1", "A", 0),
                                                  ("B", None, 0))):
            run(sa.text("INSERT INTO transit_stop (id, feed_version_id, stop_id, name, lat, "
                        "lon, location_type, parent_station) VALUES (:id, :v, :s, :s, 40.7, "
                        "-73.9, :k, :p)"), {"id": 100 + i, "v": v, "s": stop, "k": kind,
                                            "p": parent})
        run(sa.text("INSERT INTO transit_route (feed_version_id, route_id, agency_id, "
                    "short_name, route_type) VALUES (:v, 'R1', 'AG', '1', 3)"), {"v": v})
        run(sa.text("INSERT INTO transit_calendar VALUES (:v, 'WEEK', true, true, true, true, "
                    "true, false, false, :start, :end)"),
            {"v": v, "start": date(2024, 1, 1), "end": date(2024, 12, 31)})
        for trip in ("T1", "T2", "T3", "T_EMPTY"):
            run(sa.text("INSERT INTO transit_trip (feed_version_id, trip_id, route_id, "
                        "service_id, headsign, frequency_based) VALUES (:v, :t, 'R1', 'WEEK', "
                        "'Bravo', false)"), {"v": v, "t": trip})
        run(sa.text("INSERT INTO transit_stop_time (feed_version_id, trip_id, stop_sequence, "
                    "stop_id, arrival_secs, departure_secs, stop_headsign, pickup_type, "
                    "shape_dist_traveled) VALUES (:v, :t, :q, :s, :a, :d, :h, :p, :x)"),
            [{"v": v, "t": t, "q": q, "s": s, "a": a, "d": d, "h": h, "p": p, "x": x}
             for t, q, s, a, d, h, p, x in STOP_TIMES])
        run(sa.text("INSERT INTO transit_shape_point VALUES (:v, :s, :q, :lat, :lon, :d)"),
            [{"v": v, "s": "S1", "q": 2, "lat": 40.71, "lon": -73.98, "d": 1.0},
             {"v": v, "s": "S1", "q": 1, "lat": 40.70, "lon": -73.99, "d": None}])
    return v


def test_stored_versions_are_converted_and_the_old_tables_dropped(tmp_path):
    with fresh_database(tmp_path, "patterns") as url:
        engine = sa.create_engine(url)
        try:
            version_id = _old_schema_with_a_served_version(engine)
            upgrade(engine)
            tables = set(sa.inspect(engine).get_table_names())
            assert "transit_stop_time" not in tables
            assert "transit_shape_point" not in tables
            assert not {t for t in tables if t.startswith("transit_stop_time_v")}
            with Session(engine) as session:
                stored = trip_stop_times(session, version_id, ["T1", "T2", "T3", "T_EMPTY"])
                assert stored["T_EMPTY"] == []
                assert [(trip, st.stop_sequence, st.stop_id, st.arrival_secs,
                         st.departure_secs, st.stop_headsign, st.pickup_type,
                         st.shape_dist_traveled)
                        for trip in ("T1", "T2", "T3") for st in stored[trip]] == STOP_TIMES
                assert shape_points(session, version_id, "S1") == [
                    (1, 40.70, -73.99, None), (2, 40.71, -73.98, 1.0)]
                board = departures(session, None, "old:A", window_minutes=180,
                                   at=datetime(2024, 7, 2, 7, 30,
                                               tzinfo=ZoneInfo("America/New_York")))
                # T3 may not be boarded at A1 (pickup_type 1).
                assert [(d["trip_id"], d["stop"], d["scheduled"]) for d in board["items"]] == [
                    ("T1", "old:A1", "2024-07-02T08:00:00-04:00"),
                    ("T2", "old:A1", "2024-07-02T09:00:00-04:00")]
                trip = get_trip(session, None, "old:T1", service_date=date(2024, 7, 2))
                assert [(s["stop"], s["arrival"], s["departure"]) for s in trip["stops"]] == [
                    ("old:A1", "2024-07-02T08:00:00-04:00", "2024-07-02T08:00:00-04:00"),
                    ("old:B", "2024-07-02T08:30:00-04:00", "2024-07-02T08:31:00-04:00")]
        finally:
            engine.dispose()


def test_downgrade_restores_the_old_tables_empty(tmp_path):
    with fresh_database(tmp_path, "downgrade") as url:
        engine = sa.create_engine(url)
        try:
            upgrade(engine)
            command.downgrade(alembic_config(engine), "0002_transit")
            tables = set(sa.inspect(engine).get_table_names())
            assert {"transit_stop_time", "transit_shape_point"} <= tables
            assert not {"transit_pattern", "transit_pattern_stop", "transit_shape"} & tables
            assert "trip_index" not in {
                c["name"] for c in sa.inspect(engine).get_columns("transit_trip")}
            upgrade(engine)
            assert "transit_stop_time" not in set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()
