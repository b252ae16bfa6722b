"""Migration 0016: stored trips go into blocks of trips and back, served the same either way."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from app.migrate import alembic_config, upgrade
from providers.transit import trips as packed_trips
from providers.transit.queries import departures, get_trip
from tests.conftest import fresh_database
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

BEFORE = "0015_pattern_matrices_lz4"
# Trips out of id order, one with every optional field, so indexes and values both show.
TRIPS = {"trips.txt": "route_id,service_id,trip_id,trip_headsign,trip_short_name,direction_id,"
                      "block_id,shape_id,wheelchair_accessible,bikes_allowed\n"
                      "R1,WEEK,T_NIGHT,Bravo night,,,,,,\n"
                      "R1,WEEK,T1,Bravo,101,1,BL1,S1,1,2\n"
                      "R1,HOLIDAY,T_HOL,Bravo holiday,,,,,,\n"
                      "R1,WEEK,T_FREQ,Bravo shuttle,,,,,,\n"}
AT = datetime(2024, 7, 2, 7, 30, tzinfo=ZoneInfo("America/New_York"))


def served(engine: sa.Engine) -> tuple:
    packed_trips._cache.clear()  # read from the tables, not from before the migration
    with Session(engine) as session:
        board = departures(session, None, "testtransit:A", window_minutes=240, at=AT)
        trip = get_trip(session, None, "testtransit:T1", service_date=date(2024, 7, 2))
    return ([(d["trip_id"], d["scheduled"], d["headsign"]) for d in board["items"]],
            {k: trip[k] for k in ("headsign", "direction_id", "frequency_based")},
            [(s["stop"], s["departure"]) for s in trip["stops"]])


def test_trips_go_into_blocks_and_back_and_are_served_the_same(tmp_path):
    with fresh_database(tmp_path, "trips_packed") as url:
        engine = sa.create_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as session:
                outcome = import_gtfs_bytes(session, gtfs_zip(TRIPS))
                assert outcome.ok, outcome.message
                session.commit()
            version = outcome.feed_version_id
            at_head = served(engine)
            assert at_head[0][:2] == [("T1", "2024-07-02T08:00:00-04:00", "Bravo"),
                                      ("T_FREQ", "2024-07-02T10:00:00-04:00", "Bravo shuttle")]

            command.downgrade(alembic_config(engine), BEFORE)
            assert "transit_trip_block" not in sa.inspect(engine).get_table_names()
            with engine.connect() as connection:
                rows = connection.execute(sa.text(
                    "SELECT trip_index, trip_id, service_id, service_index, short_name, "
                    "direction_id, block_id, shape_id, wheelchair_accessible, bikes_allowed, "
                    "frequency_based FROM transit_trip WHERE feed_version_id = :v "
                    "ORDER BY trip_index"), {"v": version}).all()
            assert [tuple(r) for r in rows] == [
                (0, "T_NIGHT", "WEEK", 1, None, None, None, None, None, None, False),
                (1, "T1", "WEEK", 1, "101", 1, "BL1", "S1", 1, 2, False),
                (2, "T_HOL", "HOLIDAY", 0, None, None, None, None, None, None, False),
                (3, "T_FREQ", "WEEK", 1, None, None, None, None, None, None, True)]

            upgrade(engine)
            assert "transit_trip" not in sa.inspect(engine).get_table_names()
            assert served(engine) == at_head
        finally:
            engine.dispose()


@pytest.mark.postgres_only
def test_packed_trips_are_stored_out_of_line_and_not_compressed_again(session):
    storage = session.execute(sa.text(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'transit_trip_block'::regclass "
        "AND attname = 'trips'")).scalar_one()
    assert storage == "e"  # EXTERNAL: zstd compressed them already
