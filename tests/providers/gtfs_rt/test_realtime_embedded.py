"""GTFS-Realtime on the embedded live store: a message another process applies (``mobihub feeds
import``) reaches a serving worker through the kept messages (TransitRealtimeUpdate)."""

from __future__ import annotations

import json
from datetime import timedelta

import fakeredis
import sqlalchemy as sa

from app.db import Database, db, utcnow
from app.migrate import upgrade
from providers.transit.live import RealtimeJournal, keep_update, key
from providers.transit.models import TransitRealtimeUpdate
from providers.transit.queries import departures
from tests.providers.gtfs_rt.test_realtime import CALTRAIN, SNAPSHOT
from tests.providers.transit.factories import import_file


def _cli(make_app, tmp_path, shared_data):
    """A hub on a SQLite file with Caltrain's schedule, as a CLI process sees it."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    cli = make_app(DATABASE_URL=url, REDIS_URL="")
    upgrade(Database.state(cli).engine)
    with cli.app_context():
        assert import_file(db.session(), shared_data / CALTRAIN / "ct.zip", "caltrain").ok
        db.session.remove()
    return cli, url


def _import_trip_updates(cli, shared_data) -> None:
    """The CLI process applies Caltrain's trip updates to its own store, which dies with it."""
    own_store = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    with cli.app_context():
        outcome = import_file(db.session(), shared_data / CALTRAIN / "ct-trip-updates.pb",
                              "caltrain", "gtfs-rt", live=own_store)
        assert outcome.status == "applied"
        db.session.remove()


def _server(make_app, url, follow_seconds=0):
    server = make_app(DATABASE_URL=url, REDIS_URL="",
                      PARKING_EMBEDDED_FOLLOW_SECONDS=follow_seconds)
    return server, server.extensions["mobihub.live"].client


def _delayed_departures(server, store) -> list[dict]:
    """Departures at Mountain View at the snapshot that carry a real-time estimate."""
    with server.app_context():
        board = departures(db.session(), store, "caltrain:mountain_view", at=SNAPSHOT, limit=5)
        db.session.remove()
    return [d for d in board["items"] if d["realtime"]]


def test_a_worker_starting_after_a_cli_import_replays_its_trip_updates(
        make_app, tmp_path, shared_data):
    cli, url = _cli(make_app, tmp_path, shared_data)
    cli.extensions["mobihub.live"].client.flushall()  # one embedded store per process here
    _import_trip_updates(cli, shared_data)

    server, store = _server(make_app, url)

    assert store.hlen(key("caltrain", "trip_updates")) == 19
    assert _delayed_departures(server, store)


def test_a_running_worker_follows_trip_updates_a_cli_import_applies(
        make_app, tmp_path, shared_data):
    cli, url = _cli(make_app, tmp_path, shared_data)
    cli.extensions["mobihub.live"].client.flushall()
    server, store = _server(make_app, url, follow_seconds=3600)  # turned by hand below
    assert not store.exists(key("caltrain", "trip_updates"))

    _import_trip_updates(cli, shared_data)
    server.extensions["mobihub.live_follower"].follow_once()

    assert store.hlen(key("caltrain", "trip_updates")) == 19
    assert _delayed_departures(server, store)


def test_a_full_dataset_replaces_the_kept_messages_of_its_kinds(make_app, tmp_path, shared_data):
    cli, _ = _cli(make_app, tmp_path, shared_data)
    _import_trip_updates(cli, shared_data)
    _import_trip_updates(cli, shared_data)
    with cli.app_context():
        kept = db.session.scalars(sa.select(TransitRealtimeUpdate)).all()
        assert [(row.provider, row.kinds, row.full) for row in kept] == [
            ("caltrain", "trip_updates", True)]
        assert kept[0].expires_at > utcnow()
        db.session.remove()


def test_an_older_message_never_undoes_a_newer_one_and_expired_ones_are_skipped(
        make_app, tmp_path, shared_data):
    cli, _ = _cli(make_app, tmp_path, shared_data)
    now = utcnow()

    def vehicles(at: int, label: str, *, full: bool = False) -> dict:
        return {"full": full, "vehicles": {"V1": {"vehicle_id": "V1", "label": label}},
                "meta": {"timestamp": at, "received_at": at, "static_version": 0}}

    with cli.app_context():
        session = db.session()
        keep_update(session, "caltrain", vehicles(200, "newer"), now + timedelta(minutes=5))
        keep_update(session, "caltrain", vehicles(100, "older"), now + timedelta(minutes=5))
        keep_update(session, "bart", vehicles(100, "gone"), now - timedelta(seconds=1))
        session.commit()
        db.session.remove()
    store = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    journal = RealtimeJournal()

    with cli.app_context():
        assert journal.warm(db.session(), store) == 1
        assert journal.catch_up(db.session(), store) == 0  # nothing new: nothing applied twice
        db.session.remove()

    assert json.loads(store.hget(key("caltrain", "vehicles"), "V1"))["label"] == "newer"
    assert not store.exists(key("bart", "vehicles"))
    assert 0 < store.ttl(key("caltrain", "vehicles")) <= 300



def test_a_running_worker_follows_each_full_dataset_that_replaces_the_last(
        make_app, tmp_path, shared_data):
    # Each full dataset replaces the kept one; the next must never reuse its id (SQLite gives
    # a new row the largest id plus one), or the worker, past that id already, never sees it.
    cli, _ = _cli(make_app, tmp_path, shared_data)
    now = utcnow()

    def vehicles(label: str) -> dict:
        return {"full": True, "vehicles": {"V1": {"vehicle_id": "V1", "label": label}},
                "meta": {"timestamp": 100, "received_at": 100, "static_version": 0}}

    store = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    journal = RealtimeJournal()
    for label in ("first", "second", "third"):
        with cli.app_context():
            session = db.session()
            keep_update(session, "caltrain", vehicles(label), now + timedelta(minutes=5))
            session.commit()
            assert journal.catch_up(db.session(), store) == 1
            db.session.remove()
        assert json.loads(store.hget(key("caltrain", "vehicles"), "V1"))["label"] == label


def test_migration_0013_rebuilds_the_kept_messages_keeping_them_both_ways(
        make_app, tmp_path, shared_data):
    from alembic import command

    from app.migrate import alembic_config

    cli, _ = _cli(make_app, tmp_path, shared_data)
    engine = Database.state(cli).engine

    def table_sql() -> str:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'transit_realtime_update'").scalar()

    def kept() -> list[tuple]:
        with engine.connect() as connection:
            return connection.execute(sa.select(TransitRealtimeUpdate.id,
                                                TransitRealtimeUpdate.provider)).all()

    _import_trip_updates(cli, shared_data)
    before = kept()
    assert "AUTOINCREMENT" in table_sql()
    command.downgrade(alembic_config(engine), "0012_transit_version_key_once")
    assert "AUTOINCREMENT" not in table_sql()
    assert kept() == before
    upgrade(engine)
    assert "AUTOINCREMENT" in table_sql()
    assert kept() == before
