"""Gateway test support: a hub with metered probe endpoints, and developer factories.

The probe endpoints live under the real product prefixes (``/parking/``, ``/transit/``), so the
real gateway meters them; they exist because the product engineers' endpoints are built in
parallel, and they let a test choose the response status (2xx, 4xx, 5xx).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, abort, jsonify

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Plan
from app.db import Database, db

probe = Blueprint("probe", __name__)


@probe.get("/parking/v1/probe")
@probe.get("/transit/v1/probe")
def probe_ok() -> Any:
    """A cheap JSON answer: what the benchmark and the exactness tests call."""
    return jsonify(ok=True)


@probe.get("/parking/v1/probe/status/<int:status>")
def probe_status(status: int) -> Any:
    """Answer with the given status (error statuses through the problem handler)."""
    if status >= 400:
        abort(status)
    return jsonify(status=status), status


def create_probe_app(config: dict[str, Any] | None = None) -> Flask:
    """The hub plus the probe endpoints (settings from the environment, then ``config``)."""
    application = create_app(config)
    application.register_blueprint(probe)
    return application


@dataclass
class Developer:
    """An organisation, one app subscribed to products, and a live API key for it."""

    organisation_id: int
    app_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


def make_plan(session: Any, *, rps: int = 1000, burst: int = 1000,
              quota: int | None = None) -> str:
    """A plan with the given limits; returns its slug."""
    slug = f"test-{secrets.token_hex(4)}"
    session.add(Plan(slug=slug, name=slug, requests_per_second=rps, burst=burst,
                     monthly_quota=quota, price_per_1000_calls_minor=10, currency="EUR"))
    session.flush()
    return slug


def make_developer(session: Any, *, products: tuple[str, ...] = ("parking",),
                   plan: str | None = None, scopes: tuple[str, ...] | None = None) -> Developer:
    """A developer organisation with an app subscribed to ``products`` and a key for it."""
    suffix = secrets.token_hex(4)
    organisation = accounts.create_organisation(session, f"Org {suffix}",
                                                f"owner-{suffix}@example.org")
    app = accounts.create_app(session, accounts.OPERATOR, organisation.id, f"App {suffix}")
    for product in products:
        accounts.subscribe(session, accounts.OPERATOR, app.id, product, plan)
    key_scopes = scopes if scopes is not None else tuple(f"{p}:read" for p in products)
    issued = accounts.issue_api_key(session, accounts.OPERATOR, app.id, scopes=key_scopes)
    session.flush()
    return Developer(organisation.id, app.id, issued.raw)


@pytest.fixture(scope="session")
def probe_hub(database_url: str, redis_url: str, instance_path: Path) -> Flask:
    """A hub with the probe endpoints, on the run's database and Redis index."""
    from tests.conftest import test_settings

    return create_probe_app(test_settings(database_url, redis_url, instance_path))


@pytest.fixture
def hub(app: Flask, probe_hub: Flask) -> Iterator[Flask]:
    """``probe_hub`` joined to the test's transaction (the one ``session`` works in)."""
    connection = Database.state(app).factory.kw["bind"]
    db.bind_to(probe_hub, connection, join_transaction_mode="create_savepoint")
    probe_hub.extensions["mobihub.gateway"].reset()
    app.extensions["test.hub"] = probe_hub
    probe_hub.extensions["mobihub.credential_cache"].clear()
    try:
        yield probe_hub
    finally:
        db.bind_to(probe_hub, Database.state(probe_hub).engine)


@pytest.fixture
def hub_client(hub: Flask) -> Any:
    return hub.test_client()


@pytest.fixture
def developer(session: Any) -> Developer:
    """A developer on a generous plan (no limit is reached by a test)."""
    return make_developer(session, plan=make_plan(session))


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROJECT_ROOT = Path(__file__).resolve().parents[2]
PYTHON = os.path.join(PROJECT_ROOT, ".venv", "bin", "python")
