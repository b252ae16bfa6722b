"""PostgreSQL: the patterns' per-trip matrices are stored lz4-compressed (migration 0015)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command

from app.db import Database
from app.migrate import alembic_config, upgrade
from providers.transit.models import TransitPattern
from providers.transit.queries import get_trip
from providers.transit.timetable import trip_stop_times
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

pytestmark = pytest.mark.postgres_only
MATRICES = ("dwell_secs", "shape_dist_traveled", "timepoints")
TRIPS, STOPS = 120, 12


def many_trips_with_their_own_dwells() -> dict[str, str]:
    """One pattern of 120 trips over 12 stops; trip k waits k % 7 minutes at the sixth stop:
    a 120 x 12 dwell matrix (5.8 kB) and distances (11.5 kB): a row past the 8 kB target."""
    stops = "".join(f"S{s},Stop {s},40.{7000 + s},-73.9900,0,\n" for s in range(STOPS))
    trips = "".join(f"R1,WEEK,K{k},Bravo\n" for k in range(TRIPS))
    times = []
    for k in range(TRIPS):
        secs = 6 * 3600 + k * 300
        for s in range(STOPS):
            wait = 60 * (k % 7) if s == 5 else 0
            hms = [f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}" for t in (secs, secs + wait)]
            times.append(f"K{k},{hms[0]},{hms[1]},S{s},{s + 1},{s * 1.25 + k / 1000:.3f}\n")
            secs += wait + 120
    return {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n" + stops,
        "trips.txt": "route_id,service_id,trip_id,trip_headsign\n" + trips,
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence,"
                          "shape_dist_traveled\n" + "".join(times),
        "frequencies.txt": None,
    }


def compression(session, column: str) -> set[str | None]:
    return set(session.execute(sa.text(
        f"SELECT DISTINCT pg_column_compression({column}) FROM transit_pattern")).scalars())


def lz4_available(connection: sa.Connection) -> bool:
    return "lz4" in (connection.exec_driver_sql(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
    ).scalar() or [])


def test_a_big_pattern_s_matrices_are_compressed_and_read_back(session):
    if not lz4_available(session.connection()):
        pytest.skip("this PostgreSQL has no lz4: the matrices are stored uncompressed")
    assert import_gtfs_bytes(session, gtfs_zip(many_trips_with_their_own_dwells())).ok
    assert compression(session, "dwell_secs") == {"lz4"}
    assert compression(session, "shape_dist_traveled") == {"lz4"}
    trip = get_trip(session, None, "testtransit:K3", service_date=date(2024, 7, 2))
    sixth = trip["stops"][5]
    assert (sixth["arrival"], sixth["departure"]) == ("2024-07-02T06:25:00-04:00",
                                                      "2024-07-02T06:28:00-04:00")
    version_id = session.execute(sa.select(TransitPattern.feed_version_id)).scalar()
    stored = trip_stop_times(session, version_id, ["K3"])["K3"]
    assert [st.shape_dist_traveled for st in stored[:3]] == [0.003, 1.253, 2.503]


def test_the_migration_goes_down_to_uncompressed_and_up_again(app):
    engine = Database.state(app).engine

    def storage() -> set[tuple[str, str]]:
        with engine.connect() as connection:
            return set(connection.exec_driver_sql(
                "SELECT attstorage::text, attcompression::text FROM pg_attribute "
                "WHERE attrelid = 'transit_pattern'::regclass AND attname = ANY(%(names)s)",
                {"names": list(MATRICES)}).all())

    with engine.connect() as connection:
        if not lz4_available(connection):
            pytest.skip("this PostgreSQL has no lz4: the migration changes nothing")
    assert storage() == {("x", "l")}
    try:
        command.downgrade(alembic_config(engine), "0014_trip_index_unindexed")
        assert storage() == {("e", "")}
    finally:
        upgrade(engine)
    assert storage() == {("x", "l")}
