"""The embedded live store is rebuilt from the availability history when a hub starts."""

import json
from datetime import UTC, datetime, timedelta

from app.db import Database, db
from app.migrate import upgrade
from providers.models import Provider
from providers.parking.live import live_key
from providers.parking.models import ParkingAvailabilityReading


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
