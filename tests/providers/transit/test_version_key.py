"""Every transit row belongs to a feed version that exists, on both backends.

SQLite checks the declared foreign keys; PostgreSQL checks them once per statement with
triggers (migrations 0010 and 0012). These tests hold both to what the keys promised: a row naming a
missing version is refused, a version's deletion takes its rows along, a version's id cannot
change under its rows, and (PostgreSQL) an import in progress keeps its version from being
deleted until it ends.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.db import Database
from app.migrate import upgrade
from providers.models import Feed, FeedVersion, Provider
from providers.transit import models as transit
from tests.conftest import fresh_database
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

VERSION_TABLES = [model for model in vars(transit).values()
                  if isinstance(model, type) and issubclass(model, transit.Base)
                  and "feed_version_id" in getattr(model, "__table__", sa.table("x")).c]
MISSING_VERSION = 987_654_321
# The base feed with the optional files too, so that every table gets rows.
EVERY_FILE = {
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                  "S1,40.7501,-73.9901,1\nS1,40.7600,-73.9800,2\n",
    "transfers.txt": "from_stop_id,to_stop_id,transfer_type\nA1,B,0\n",
    "feed_info.txt": "feed_publisher_name,feed_publisher_url,feed_lang\n"
                     "Test,https://example.org,en\n",
}


def _agency(version_id: int, agency_id: str = "AG") -> dict:
    return {"feed_version_id": version_id, "agency_id": agency_id, "name": "Test Transit",
            "timezone": "Europe/Berlin"}


def _imported_version(session, provider: str = "testtransit") -> int:
    outcome = import_gtfs_bytes(session, gtfs_zip(EVERY_FILE), provider=provider)
    assert outcome.ok, outcome.message
    return outcome.feed_version_id


def test_every_table_holding_a_version_s_records_is_covered():
    names = {model.__tablename__ for model in VERSION_TABLES}
    assert {"transit_stop", "transit_trip_block", "transit_pattern_stop", "transit_shape"} <= names
    assert len(names) == 12


def test_a_row_naming_a_missing_version_is_refused(session):
    with pytest.raises(sa.exc.IntegrityError, match=rf"feed_version(.|\n)*{MISSING_VERSION}"), \
            session.begin_nested():
        session.execute(sa.insert(transit.TransitAgency), [_agency(MISSING_VERSION)])


def test_rows_of_several_versions_that_exist_are_stored_in_one_statement(session):
    first, second = _imported_version(session), _imported_version(session, "othertransit")
    session.execute(sa.insert(transit.TransitAgency),
                    [_agency(first, "NEW1"), _agency(second, "NEW2"), _agency(first, "NEW3")])
    stored = session.execute(sa.select(transit.TransitAgency.feed_version_id,
                                       transit.TransitAgency.agency_id)
                             .where(transit.TransitAgency.agency_id.like("NEW%"))).all()
    assert sorted(stored) == sorted([(first, "NEW1"), (second, "NEW2"), (first, "NEW3")])


def test_one_bad_row_among_good_ones_refuses_the_whole_statement(session):
    version_id = _imported_version(session)
    rows = [_agency(version_id, "NEW1"), _agency(MISSING_VERSION, "NEW2"),
            _agency(version_id, "NEW3")]
    with pytest.raises(sa.exc.IntegrityError, match=str(MISSING_VERSION)), \
            session.begin_nested():
        session.execute(sa.insert(transit.TransitAgency), rows)
    agencies = session.scalars(sa.select(transit.TransitAgency.agency_id).where(
        transit.TransitAgency.feed_version_id == version_id)).all()
    assert agencies == ["AG"]


def test_moving_rows_to_a_missing_version_is_refused(session):
    version_id = _imported_version(session)
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(transit.TransitStop)
                        .where(transit.TransitStop.feed_version_id == version_id)
                        .values(feed_version_id=MISSING_VERSION))


def test_deleting_a_version_deletes_its_rows_from_every_transit_table(session):
    kept, doomed = _imported_version(session), _imported_version(session, "othertransit")
    for model in VERSION_TABLES:
        assert session.scalar(sa.select(sa.func.count()).select_from(model).where(
            model.feed_version_id == doomed)), model.__tablename__
    session.execute(sa.update(Feed).where(Feed.active_version_id == doomed)
                    .values(active_version_id=None))
    session.execute(sa.delete(FeedVersion).where(FeedVersion.id == doomed))
    for model in VERSION_TABLES:
        versions = set(session.scalars(sa.select(model.feed_version_id).distinct()))
        assert doomed not in versions, model.__tablename__
    assert kept in set(session.scalars(sa.select(transit.TransitTripBlock.feed_version_id)))


def test_a_version_s_id_cannot_change_under_its_rows(session):
    version_id = _imported_version(session)
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(FeedVersion).where(FeedVersion.id == version_id)
                        .values(id=MISSING_VERSION))
    assert session.get(FeedVersion, version_id) is not None


@pytest.mark.postgres_only
def test_an_import_in_progress_holds_its_version_against_deletion(make_app, tmp_path):
    with fresh_database(tmp_path, "version_key") as url:
        engine = Database.state(make_app(DATABASE_URL=url, REDIS_URL="")).engine
        upgrade(engine)
        with sa.orm.Session(engine) as setup:
            provider = Provider(slug="heldtransit", name="Held")
            setup.add(provider)
            setup.flush()
            feed = Feed(provider_id=provider.id, format="gtfs")
            setup.add(feed)
            setup.flush()
            version = FeedVersion(feed_id=feed.id, content_sha256="0" * 64)
            setup.add(version)
            setup.commit()
            version_id = version.id
        with engine.connect() as importing, engine.connect() as pruning:
            importing.execute(sa.insert(transit.TransitAgency), [_agency(version_id)])
            pruning.exec_driver_sql("SET lock_timeout = '300ms'")
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                pruning.execute(sa.delete(FeedVersion).where(FeedVersion.id == version_id))
            pruning.rollback()
            importing.commit()
            pruning.execute(sa.delete(FeedVersion).where(FeedVersion.id == version_id))
            pruning.commit()
            assert importing.scalar(sa.select(sa.func.count()).select_from(
                transit.TransitAgency)) == 0
        engine.dispose()


@pytest.mark.postgres_only
def test_migration_0012_downgrades_to_0010_s_check_and_back(make_app, tmp_path):
    from alembic import command

    from app.migrate import alembic_config

    def check_source(engine) -> str:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT prosrc FROM pg_proc WHERE proname = 'feed_version_key_check'").scalar()

    with fresh_database(tmp_path, "version_key_0012") as url:
        engine = Database.state(make_app(DATABASE_URL=url, REDIS_URL="")).engine
        upgrade(engine)
        assert "min(feed_version_id), max(feed_version_id)" in check_source(engine)
        command.downgrade(alembic_config(engine), "0011_transit_packed_rows_inline")
        source = check_source(engine)
        assert "count(DISTINCT feed_version_id)" in source
        assert "min(feed_version_id), max(feed_version_id)" not in source
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match=str(
                MISSING_VERSION)):
            connection.execute(sa.insert(transit.TransitAgency), [_agency(MISSING_VERSION)])
        upgrade(engine)
        assert "min(feed_version_id), max(feed_version_id)" in check_source(engine)
        engine.dispose()
