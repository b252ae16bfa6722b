"""Migration 0014: the trips' trip index loses its index (and gets it back on a downgrade)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.migrate import alembic_config, upgrade
from tests.conftest import fresh_database

BEFORE, AFTER = "0013_realtime_ids_never_reused", "0014_trip_index_unindexed"


def trip_indexes(engine: sa.Engine) -> list[dict]:
    return [index for index in sa.inspect(engine).get_indexes("transit_trip")
            if "trip_index" in index["column_names"]]


def test_the_index_goes_and_comes_back(tmp_path):
    with fresh_database(tmp_path, "trip_index") as url:
        engine = sa.create_engine(url)
        try:
            upgrade(engine, BEFORE)
            assert [(i["column_names"], bool(i["unique"])) for i in trip_indexes(engine)] == [
                (["feed_version_id", "trip_index"], True)]
            upgrade(engine, AFTER)
            assert trip_indexes(engine) == []
            command.downgrade(alembic_config(engine), BEFORE)
            assert [(i["column_names"], bool(i["unique"])) for i in trip_indexes(engine)] == [
                (["feed_version_id", "trip_index"], True)]
        finally:
            engine.dispose()
