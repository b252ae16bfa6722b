"""The embedded live store is rebuilt from the availability history when a hub starts, then
follows what other processes record."""

import json
import time
from datetime import UTC, datetime, timedelta

from app.db import Database, db
from app.migrate import upgrade
from providers.models import Provider
from providers.parking.live import (
    catch_up_live_store,
    history_watermark,
    live_key,
    record_readings,
)
from providers.parking.models import ParkingAvailabilityReading
from providers.parking.records import AvailabilityRecord


def test_a_new_process_on_the_embedded_store_sees_the_newest_recorded_readings(
        make_app, tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    writer = make_app(DATABASE_URL=url, REDIS_URL="")
    upgrade(Database.state(writer).engine)
    observed = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with writer.app_context():
        session = db.session()
        provider = Provider(slug="aachen", name="Aachen")
        session.add(provider)
        session.flush()
        for minutes, free in ((0, 40), (15, 25)):
            session.add(ParkingAvailabilityReading(
                provider_id=provider.id, source_id="P1", free=free, occupied=100 - free,
                capacity=100, status="open", trend="unknown",
                observed_at=observed + timedelta(minutes=minutes), received_at=observed))
        session.commit()
        provider_id = provider.id
    # The other process's in-process store is gone; a new one starts empty.
    store = writer.extensions["mobihub.live"].client
    store.flushall()

    server = make_app(DATABASE_URL=url, REDIS_URL="")

    raw = server.extensions["mobihub.live"].client.get(live_key(provider_id, "P1"))
    reading = json.loads(raw)
    assert reading["free"] == 25
    assert reading["observed_at"] == (observed + timedelta(minutes=15)).isoformat()


def test_a_hub_on_an_unmigrated_database_still_starts(make_app, tmp_path):
    hub = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}", REDIS_URL="")
    assert hub.test_client().get("/healthz").status_code == 200


def _record(app, provider_id: int, source_id: str, free: int, observed: datetime, *,
            live=None) -> None:
    """A reading recorded as an import records it: in the history and in ``live``, the
    importing process's own store (another process's store never reaches this one: None)."""
    with app.app_context():
        session = db.session()
        record_readings(session, live, provider_id,
                        [AvailabilityRecord(source_id=source_id, free=free, occupied=100 - free,
                                            capacity=100, status="open",
                                            observed_at=observed)], observed)
        session.commit()


def _hubs(make_app, tmp_path, follow_seconds: float):
    """Two hubs on one SQLite file, as a CLI import and a serving worker run: (cli, server,
    the server's store, a provider id)."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    cli = make_app(DATABASE_URL=url, REDIS_URL="")
    upgrade(Database.state(cli).engine)
    with cli.app_context():
        session = db.session()
        provider = Provider(slug="aachen", name="Aachen")
        session.add(provider)
        session.commit()
        provider_id = provider.id
    server = make_app(DATABASE_URL=url, REDIS_URL="",
                      PARKING_EMBEDDED_FOLLOW_SECONDS=follow_seconds)
    store = server.extensions["mobihub.live"].client
    store.flushall()  # the embedded store is one per process: start from nothing
    return cli, server, store, provider_id


NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_running_hub_on_the_embedded_store_follows_readings_another_process_records(
        make_app, tmp_path):
    cli, server, store, provider_id = _hubs(make_app, tmp_path, follow_seconds=0.05)
    server.test_client().get("/healthz")  # the worker's first request starts the follower

    _record(cli, provider_id, "P1", 40, NOON)

    deadline = time.monotonic() + 5
    while store.get(live_key(provider_id, "P1")) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert json.loads(store.get(live_key(provider_id, "P1")))["free"] == 40


def test_following_the_history_never_replaces_a_later_observation(make_app, tmp_path):
    cli, server, store, provider_id = _hubs(make_app, tmp_path, follow_seconds=0)
    # The server already holds a reading observed at 12:30 (its own import, say).
    _record(server, provider_id, "P1", 10, NOON + timedelta(minutes=30), live=store)
    # Another process then records two older ones, the newest of them second.
    _record(cli, provider_id, "P1", 40, NOON)
    _record(cli, provider_id, "P1", 30, NOON + timedelta(minutes=15))
    _record(cli, provider_id, "P2", 55, NOON)

    with server.app_context():
        watermark = catch_up_live_store(db.session(), store, 0)
        db.session.remove()

    assert json.loads(store.get(live_key(provider_id, "P1")))["free"] == 10
    assert json.loads(store.get(live_key(provider_id, "P2")))["free"] == 55
    with cli.app_context():
        assert watermark == history_watermark(db.session())
