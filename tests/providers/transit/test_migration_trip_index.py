"""Migration 0014: the trips' trip index loses its index; departures read trips by id."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from app.migrate import alembic_config, upgrade
from providers.transit.queries import departures
from tests.conftest import fresh_database
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

BEFORE = "0013_realtime_ids_never_reused"


def trip_indexes(engine: sa.Engine) -> list[dict]:
    return [index for index in sa.inspect(engine).get_indexes("transit_trip")
            if "trip_index" in index["column_names"]]


def test_the_index_goes_and_comes_back_and_departures_are_the_same_at_head(tmp_path):
    with fresh_database(tmp_path, "trip_index") as url:
        engine = sa.create_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as session:
                assert import_gtfs_bytes(session, gtfs_zip()).ok
                session.commit()
            assert trip_indexes(engine) == []
            command.downgrade(alembic_config(engine), BEFORE)
            restored = trip_indexes(engine)
            assert [(i["column_names"], bool(i["unique"])) for i in restored] == [
                (["feed_version_id", "trip_index"], True)]
            upgrade(engine)
            assert trip_indexes(engine) == []
            with Session(engine) as session:
                board = departures(session, None, "testtransit:A", window_minutes=180,
                                   at=datetime(2024, 7, 2, 7, 30,
                                               tzinfo=ZoneInfo("America/New_York")))
            assert [(d["trip_id"], d["scheduled"]) for d in board["items"]][:1] == [
                ("T1", "2024-07-02T08:00:00-04:00")]
        finally:
            engine.dispose()
