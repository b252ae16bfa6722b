"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.db import get_db

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Any:
    """Liveness: the process answers; checks no dependency."""
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> Any:
    """Readiness: database and live store reachable; 503 with detail when either is not."""
    database = database_status()
    live = current_app.extensions["mobihub.live"].ping()
    ready = database["ok"] and live["ok"]
    body = {"status": "ready" if ready else "unavailable", "database": database, "redis": live}
    return jsonify(body), 200 if ready else 503


def database_status() -> dict[str, Any]:
    """Run ``SELECT 1`` on a fresh connection and name the backend."""
    engine = get_db().engine
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        return {"ok": False, "backend": engine.dialect.name, "error": type(exc).__name__}
    return {"ok": True, "backend": engine.dialect.name}


def configure_health(app: Flask) -> None:
    """Register the health endpoints."""
    app.register_blueprint(health)
