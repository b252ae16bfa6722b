"""Test harness: a real database (SQLite or PostgreSQL) and a real Redis for every run.

``MOBIHUB_TEST_DATABASE`` picks the backend (``sqlite``, the default, or ``postgresql``); the
README's test command runs the suite once on each. Each run (and each xdist worker) gets its
own fresh database, migrated once and dropped at the end; each test runs inside a transaction
that is rolled back, and on a Redis DB index of its own that is flushed before each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from app import create_app
from app.db import Database, db
from app.migrate import upgrade
from tests.support.redis_claim import RedisClaimError, claimed_redis_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MOBIHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_SERVER_URL = os.environ.get("MOBIHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_LOCK_TTL_SECONDS = 4 * 3600
_engines_to_dispose: list[sa.engine.Engine] = []


def backend() -> str:
    """The database backend this run tests: ``sqlite`` or ``postgresql``."""
    return os.environ.get("MOBIHUB_TEST_DATABASE", "sqlite")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"mobihub: database backend {backend()}, redis {REDIS_SERVER_URL} (real server)"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="PostgreSQL-only behaviour; runs in the PostgreSQL pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


# --- database ---------------------------------------------------------------------------------


@contextmanager
def fresh_database(directory: Path, label: str) -> Iterator[str]:
    """A new, empty database of its own (a file on SQLite, a database on PostgreSQL).

    Used for the run's database and by tests whose server runs in another process, which the
    per-test rollback cannot reach: they commit to a database of their own, dropped at the end.
    """
    if backend() == "sqlite":
        yield f"sqlite:///{directory / f'{label}.sqlite3'}"
        return
    if backend() != "postgresql":
        pytest.exit(f"MOBIHUB_TEST_DATABASE must be sqlite or postgresql, not {backend()!r}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"mobihub_{label}_{os.getpid()}_{worker}_{secrets.token_hex(3)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc.orig}")
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for this run (and this xdist worker), dropped at the end."""
    with fresh_database(tmp_path_factory.mktemp("db"), "test") as url:
        try:
            yield url
        finally:
            for engine in _engines_to_dispose:
                engine.dispose()


# --- redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis DB index claimed for this run alone (parallel runs each claim another)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(claimed_redis_db(REDIS_SERVER_URL, REDIS_LOCK_TTL_SECONDS))
        except RedisClaimError as exc:
            pytest.exit(str(exc))
        yield url


@pytest.fixture
def redis(app: Flask) -> redis_lib.Redis:
    """The app's real Redis client, on this run's DB index, flushed before each test."""
    return app.extensions["mobihub.live"].client


# --- app --------------------------------------------------------------------------------------


def test_settings(database_url: str, redis_url: str, instance_path: Path, **overrides: Any
                  ) -> dict[str, Any]:
    """The settings of a test app; factories pass overrides."""
    settings: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key",
        "LOG_LEVEL": "WARNING",
        "SERVER_NAME": None,
        "BASE_URL": "http://localhost",
    }
    settings.update(overrides)
    return settings


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, instance_path: Path) -> Iterator[Flask]:
    """The hub, created once per run on the run's database, migrated once."""
    application = create_app(test_settings(database_url, redis_url, instance_path))
    engine = Database.state(application).engine
    _engines_to_dispose.append(engine)
    upgrade(engine)
    return application


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """Factory of separate hub apps (own instance folder) for configuration tests.

    ``make_app(REDIS_URL="")`` builds one; its engine is disposed after the test.
    """
    made: list[Flask] = []

    def factory(**settings: Any) -> Flask:
        config: dict[str, Any] = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(tmp_path / f"instance{len(made)}"),
            "LOG_LEVEL": "WARNING",
        }
        config.update(settings)
        application = create_app(config)
        made.append(application)
        return application

    yield factory
    for application in made:
        follower = application.extensions.get("mobihub.live_follower")
        if follower is not None:
            follower.stop()
        Database.state(application).engine.dispose()
        application.extensions["mobihub.live"].client.close()


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Roll back every test's database work and flush its Redis DB (tests using the app)."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    application.extensions["mobihub.live"].client.flushdb()
    engine = Database.state(application).engine
    connection = engine.connect()
    transaction = connection.begin()
    db.bind_to(application, connection, join_transaction_mode="create_savepoint")
    try:
        with application.app_context():
            yield
    finally:
        db.bind_to(application, engine, join_transaction_mode="conservative_savepoint")
        transaction.rollback()
        connection.close()


@pytest.fixture
def session(app: Flask) -> Any:
    """The scoped SQLAlchemy session of the test app, inside the test's transaction."""
    return db.session()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_client(client: FlaskClient, session: Any) -> FlaskClient:
    """A client whose requests carry a valid credential for every API product.

    It sends (``X-API-Key``) a real API key of a test app subscribed to every product under
    the generous ``partner`` plan; tests of the public APIs use it rather than ``client``.
    ``api_client.api_key`` and ``api_client.app_id`` say which.
    """
    from tests.factories.accounts import make_api_key, make_developer_app

    developer_app = make_developer_app(session, plan="partner")
    key = make_api_key(session, developer_app, label="api_client fixture")
    client.environ_base["HTTP_X_API_KEY"] = key
    client.api_key = key  # type: ignore[attr-defined]
    client.app_id = developer_app.id  # type: ignore[attr-defined]
    return client


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def mobihub(runner: FlaskCliRunner) -> Any:
    """Run a ``mobihub`` command in-process against the test app: ``mobihub("demo")``."""
    from app.cli import cli

    def invoke(*args: str) -> Any:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


# --- real data --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``MOBIHUB_TESTDATA``): real feeds; skips when absent."""
    path = Path(os.environ.get("MOBIHUB_TESTDATA") or PROJECT_ROOT.parent / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"real test data not found at {path} (set MOBIHUB_TESTDATA)")
    return path
