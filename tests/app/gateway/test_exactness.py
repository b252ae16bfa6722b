"""Exactness across processes: a real 2-worker gunicorn hub, concurrent clients, real Redis.

The server is another process, so the per-test rollback cannot reach it: these tests use a
database of their own, committed to and dropped at the end (a file on SQLite, a dedicated
database on PostgreSQL), and the run's Redis index.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis as redis_lib
import sqlalchemy as sa

from app.db import Database, db
from app.migrate import upgrade
from billing.ledger import totals
from billing.metering import flush_usage
from billing.models import UsageLedger
from tests.conftest import fresh_database
from tests.support.gateway import PROJECT_ROOT, PYTHON, free_port, make_developer, make_plan

pytestmark = pytest.mark.slow
PROBE = "/parking/v1/probe"


@pytest.fixture(scope="module")
def committed_database(tmp_path_factory):
    """A database of its own, migrated, for the server process and this module's checks."""
    with fresh_database(tmp_path_factory.mktemp("exact"), "exact") as url:
        yield url


@pytest.fixture(scope="module")
def control(committed_database, redis_url, tmp_path_factory):
    """An in-process hub on the committed database: creates developers, flushes, reads."""
    from app import create_app

    application = create_app({"TESTING": True, "DATABASE_URL": committed_database,
                              "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
                              "INSTANCE_PATH": str(tmp_path_factory.mktemp("control"))})
    upgrade(Database.state(application).engine)
    redis_lib.Redis.from_url(redis_url).flushdb()
    with application.app_context():
        yield application
        db.session.remove()
    Database.state(application).engine.dispose()


@pytest.fixture(scope="module")
def server(control, committed_database, redis_url, tmp_path_factory):
    """``gunicorn`` with 2 workers serving the probe hub on a free loopback port."""
    port = free_port()
    env = {**os.environ, "MOBIHUB_DATABASE_URL": committed_database,
           "MOBIHUB_REDIS_URL": redis_url, "MOBIHUB_LOG_LEVEL": "WARNING",
           "MOBIHUB_INSTANCE_PATH": str(tmp_path_factory.mktemp("server")),
           "MOBIHUB_USAGE_FLUSH_IN_WORKER": "off"}
    process = subprocess.Popen([PYTHON, "-m", "tests.support.serve_probe", str(port), "2"],
                               cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"server did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        finally:
            connection.close()
    yield {"port": port, "process": process}
    if process.poll() is None:
        process.kill()
        process.wait(10)
    process.stderr.close()


def committed_developer(**plan):
    session = db.session()
    developer = make_developer(session, plan=make_plan(session, **plan))
    session.commit()
    return developer


def hammer(port: int, headers: dict[str, str], calls: int, clients: int = 16) -> list[int]:
    """``calls`` GETs of the probe from ``clients`` concurrent keep-alive connections."""
    per_client = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]

    def run(count: int) -> list[int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses = []
        for _ in range(count):
            connection.request("GET", PROBE, headers=headers)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        connection.close()
        return statuses

    with ThreadPoolExecutor(clients) as pool:
        return [status for statuses in pool.map(run, per_client) for status in statuses]


def test_quota_admits_exactly_its_calls_across_workers(server, control):
    developer = committed_developer(quota=137)
    statuses = hammer(server["port"], developer.headers, 400)
    assert statuses.count(200) == 137
    assert statuses.count(429) == 263
    flush_usage()
    assert totals(db.session(), app_id=developer.app_id) == {"admitted": 137, "rejected": 263}


def test_rate_limit_admits_no_more_than_burst_plus_rate_times_elapsed(server, control):
    # GCRA with burst L and rate r admits at most L + r * t calls in any interval t.
    burst, rate = 25, 2
    developer = committed_developer(rps=rate, burst=burst)
    started = time.monotonic()
    statuses = hammer(server["port"], developer.headers, 300)
    elapsed = time.monotonic() - started
    admitted = statuses.count(200)
    assert burst <= admitted <= burst + rate * elapsed + 1
    assert statuses.count(429) == 300 - admitted


def test_every_call_reaches_the_ledger_once_even_if_the_flush_is_killed(
        server, control, committed_database, redis_url, tmp_path):
    calls = 1000
    developer = committed_developer()
    statuses = hammer(server["port"], developer.headers, calls)
    assert statuses == [200] * calls
    # Graceful stop: each worker sends its deferred status classes as it exits.
    server["process"].send_signal(signal.SIGTERM)
    assert server["process"].wait(30) == 0, server["process"].stderr.read().decode()[-2000:]
    env = {**os.environ, "MOBIHUB_DATABASE_URL": committed_database,
           "MOBIHUB_REDIS_URL": redis_url, "MOBIHUB_INSTANCE_PATH": str(tmp_path),
           "MOBIHUB_LOG_LEVEL": "WARNING"}
    killed = subprocess.run([str(Path(PYTHON).parent / "mobihub"), "usage", "flush",
                             "--crash-after", "claim"], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, timeout=60)
    assert killed.returncode == 75, killed.stderr.decode()
    session = db.session()
    assert totals(session, app_id=developer.app_id)["admitted"] == 0  # claimed, not written
    rerun = subprocess.run([str(Path(PYTHON).parent / "mobihub"), "usage", "flush",
                            "--recover-after", "0", "--json"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr.decode()
    session.rollback()  # end the read transaction: see what the other process committed
    assert totals(session, app_id=developer.app_id) == {"admitted": calls, "rejected": 0}
    rows = session.execute(sa.select(UsageLedger.status_class,
                                     sa.func.sum(UsageLedger.count_admitted))
                           .where(UsageLedger.app_id == developer.app_id)
                           .group_by(UsageLedger.status_class)).all()
    assert {cls: int(n) for cls, n in rows if n} == {"2xx": calls}
    again = subprocess.run([str(Path(PYTHON).parent / "mobihub"), "usage", "flush",
                            "--recover-after", "0"], env=env, cwd=PROJECT_ROOT,
                           capture_output=True, timeout=60)
    assert again.returncode == 0
    session.rollback()  # end the read transaction: see what the other process committed
    assert totals(session, app_id=developer.app_id)["admitted"] == calls
