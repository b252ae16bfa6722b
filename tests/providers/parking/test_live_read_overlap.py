"""A near search asks Redis for its page's readings before the SQL statement, and reads them after.

The readings must be exactly what a plain ``read_live`` after the statement would give, on a
Redis server and on the embedded store, and a reply left unread (the statement failed) must
never reach the next command on that pooled connection.
"""

from datetime import timedelta

import fakeredis
import numpy as np
import pytest
import redis as redis_lib
import sqlalchemy as sa

from app.db import utcnow
from providers.parking import queries, static_index
from providers.parking.live import live_key, read_live, send_live_read
from providers.parking.queries import FacilitySearch, present_availability, search_facilities
from tests.factories.parking import import_lots, lot


def lots_with_readings() -> list[dict]:
    fresh = (utcnow() - timedelta(minutes=2)).isoformat()
    old = (utcnow() - timedelta(hours=2)).isoformat()
    return [lot("fresh", 50.0, 7.0, capacity=40, free=12, observed_at=fresh),
            lot("old", 50.0003, 7.0, capacity=40, free=3, observed_at=old),
            lot("none", 50.0006, 7.0, capacity=40)]


def expected_availability(session, redis, now):
    provider_id = session.execute(sa.text(
        "SELECT id FROM provider WHERE slug = 'testcity'")).scalar_one()
    raws = read_live(redis, [(provider_id, sid) for sid in ("fresh", "old", "none")])
    return [present_availability(raw, now, 900) for raw in raws]


@pytest.mark.parametrize("store", ["server", "embedded"])
def test_near_readings_are_those_a_plain_read_gives(session, redis, store):
    live = redis if store == "server" else fakeredis.FakeRedis(server=fakeredis.FakeServer())
    import_lots(session, live, lots_with_readings())
    now = utcnow()
    page = search_facilities(session, live, FacilitySearch(lat=50.0, lon=7.0, radius=500,
                                                           now=now))
    assert [item["source_id"] for item in page["items"]] == ["fresh", "old", "none"]
    assert [item["availability"] for item in page["items"]] == expected_availability(
        session, live, now)
    fresh, old, none = (item["availability"] for item in page["items"])
    assert (fresh["live"], fresh["free"], old["stale"], none) == (True, 12, True, None)


def test_a_reply_left_unread_never_reaches_the_next_command(session, redis, monkeypatch):
    # one connection in the pool: a connection kept would make the next command fail, one
    # returned with its reply unread would hand that reply to the next command
    live = redis_lib.Redis(connection_pool=redis_lib.ConnectionPool(
        max_connections=1, **redis.connection_pool.connection_kwargs))
    import_lots(session, live, lots_with_readings())
    search = FacilitySearch(lat=50.0, lon=7.0, radius=500, now=utcnow())
    plain = search_facilities(session, live, search)

    def failing_statement(*_args, **_kwargs):
        raise RuntimeError("the statement failed after the MGET was sent")

    with monkeypatch.context() as patch:
        patch.setattr(queries, "_id_list_value", failing_statement)
        with pytest.raises(RuntimeError):
            search_facilities(session, live, search)
    live.set("parking:probe", b"probe")
    assert live.get("parking:probe") == b"probe"
    assert search_facilities(session, live, search) == plain


def test_a_pending_read_falls_back_to_a_plain_read_when_the_reply_fails(redis):
    redis.set(live_key(1, "a"), b'{"free": 3, "observed_at": "2026-03-01T12:00:00+00:00"}')
    pending = send_live_read(redis, [(1, "a"), (1, "b")])
    pending._connection.disconnect()  # the server's reply is lost with the socket
    assert pending.result() == [{"free": 3, "observed_at": "2026-03-01T12:00:00+00:00"}, None]
    assert send_live_read(redis, []).result() == []
    assert send_live_read(None, [(1, "a")]).result() == [None]


def test_the_index_names_each_facility_by_its_live_store_key(session, redis):
    fresh = utcnow().isoformat()
    ids = ["Parkhaus Süd", "b", "P+R Bondorf [Nord]", "x" * 80]
    import_lots(session, redis, [lot(sid, 50.0 + n * 0.0001, 7.0, capacity=9, free=n,
                                     observed_at=fresh) for n, sid in enumerate(ids)])
    page = search_facilities(session, redis, FacilitySearch(lat=50.0, lon=7.0, radius=500))
    assert [(i["source_id"], i["availability"]["free"]) for i in page["items"]] == [
        (sid, n) for n, sid in enumerate(ids)]
    index = static_index.current(session.connection(), "facilities")
    keys = index.live_keys(np.arange(len(index.ids)))
    assert sorted(source_id for _, source_id in keys) == sorted(ids)
