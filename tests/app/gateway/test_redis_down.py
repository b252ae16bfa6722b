"""Redis unreachable: serve with counts held in process and replayed (or refuse with 503)."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis as redis_lib

from app.db import Database, db
from billing.ledger import totals
from billing.metering import flush_usage
from tests.conftest import test_settings
from tests.support.gateway import create_probe_app, free_port, make_developer, make_plan

PROBE = "/parking/v1/probe"
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs the redis-server binary to stop and restart")


class RedisProcess:
    """A real redis-server of this test's own, to stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis():
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def hub_on(app, database_url, instance_path, own_redis):
    """Build a probe hub on ``own_redis`` joined to the test's transaction."""
    made = []

    def build(**settings):
        hub = create_probe_app(test_settings(database_url, own_redis.url, instance_path,
                                             **settings))
        connection = Database.state(app).factory.kw["bind"]
        db.bind_to(hub, connection, join_transaction_mode="create_savepoint")
        made.append(hub)
        return hub

    yield build
    for hub in made:
        Database.state(hub).engine.dispose()


def test_calls_served_while_redis_is_down_are_replayed_exactly_when_it_returns(
        hub_on, own_redis, session):
    hub = hub_on()
    developer = make_developer(session, plan=make_plan(session, quota=1000))
    client = hub.test_client()
    assert [client.get(PROBE, headers=developer.headers).status_code for _ in range(2)] == [200] * 2
    own_redis.stop()
    served = [client.get(PROBE, headers=developer.headers) for _ in range(3)]
    assert [r.status_code for r in served] == [200] * 3
    assert "RateLimit" in served[0].headers
    gateway = hub.extensions["mobihub.gateway"]
    assert gateway.recorder.drain() is False  # still down: kept
    assert gateway.recorder.held() > 0
    own_redis.start()  # an empty Redis comes back
    assert gateway.recorder.drain() is True
    assert gateway.recorder.held() == 0
    with hub.app_context():
        flush_usage()
    # The 2 calls before the outage died with the old Redis (no persistence configured);
    # the 3 served during the outage were held in process and are all in the ledger.
    assert totals(session, app_id=developer.app_id) == {"admitted": 3, "rejected": 0}


def test_refuse_mode_answers_503_problem_while_redis_is_down(hub_on, own_redis, session):
    hub = hub_on(GATEWAY_REDIS_DOWN="refuse")
    developer = make_developer(session, plan=make_plan(session))
    client = hub.test_client()
    assert client.get(PROBE, headers=developer.headers).status_code == 200
    own_redis.stop()
    response = client.get(PROBE, headers=developer.headers)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/gateway-unavailable")
    assert int(response.headers["Retry-After"]) >= 1


def test_refusal_while_redis_is_down_reports_local_limits_and_is_replayed_as_rejected(
        hub_on, own_redis, session):
    hub = hub_on()
    developer = make_developer(session, plan=make_plan(session, rps=1, burst=4),
                               scopes=("transit:read",))
    client = hub.test_client()
    own_redis.stop()
    response = client.get(PROBE, headers=developer.headers)
    assert response.status_code == 403
    assert response.headers["RateLimit"] == '"rate";r=4;t=0'
    own_redis.start()
    assert hub.extensions["mobihub.gateway"].recorder.drain() is True
    with hub.app_context():
        flush_usage()
    assert totals(session, app_id=developer.app_id) == {"admitted": 0, "rejected": 1}
