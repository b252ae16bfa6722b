"""The application factory: a short sequence of ``configure_*`` steps."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from app.config import Settings, resolve_instance_settings
from app.db import db
from app.errors import configure_errors
from app.gateway.hook import configure_gateway
from app.health import configure_health
from app.live import LiveStore
from app.observability import configure_logging, configure_request_ids


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hub: settings from ``MOBIHUB_*`` variables, overridden by ``config``."""
    app = Flask("app", instance_relative_config=False)
    configure_settings(app, config)
    configure_logging(app)
    configure_request_ids(app)
    configure_persistence(app)
    configure_live_warmup(app)
    configure_accounts(app)
    configure_health(app)
    configure_apis(app)
    configure_gateway(app)
    configure_portal(app)
    configure_errors(app)
    return app


def configure_settings(app: Flask, config: Mapping[str, Any] | None) -> None:
    """Environment first, then explicit overrides, then instance-folder defaults."""
    app.config.update(Settings.from_env().as_flask_config())
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.config.update(config or {})
    resolve_instance_settings(app.config)
    app.instance_path = app.config["INSTANCE_PATH"]
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"]
    if "SESSION_COOKIE_SECURE" not in (config or {}):
        app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.json.sort_keys = False  # type: ignore[attr-defined]


def configure_persistence(app: Flask) -> None:
    """SQL store and live store."""
    db.init_app(app)
    LiveStore().init_app(app)


def configure_live_warmup(app: Flask) -> None:
    """On the embedded store, rebuild the live parking and transit views from SQL.

    The in-process store starts empty in every process; readings recorded by another process
    (a CLI import, the demo) are in the history table, and GTFS-Realtime messages it applied are
    kept until they expire (``TransitRealtimeUpdate``), so each worker loads them, then follows
    what is recorded later (``PARKING_EMBEDDED_FOLLOW_SECONDS``). A database not migrated yet
    has nothing to load.
    """
    if not app.extensions["mobihub.live"].embedded:
        return
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import db
    from providers.parking.live import LiveHistoryFollower, history_watermark, warm_live_store
    from providers.transit.live import RealtimeJournal

    live = app.extensions["mobihub.live"].client
    realtime = RealtimeJournal()
    with app.app_context():
        try:
            watermark = history_watermark(db.session())  # read first: warm-up covers up to it
            warm_live_store(db.session(), live)
            realtime.warm(db.session(), live)
        except SQLAlchemyError:
            logging.getLogger("mobihub.live").info("live store not warmed: no history table yet")
            return
        finally:
            db.session.remove()
    interval = float(app.config.get("PARKING_EMBEDDED_FOLLOW_SECONDS", 0) or 0)
    if interval > 0:  # readings that other processes record later: followed by a thread
        follower = LiveHistoryFollower(app, live, watermark, interval, journals=(realtime,))
        app.extensions["mobihub.live_follower"] = follower
        app.before_request(follower.start_once)


def configure_accounts(app: Flask) -> None:
    """API key resolution (cached per process) and the OAuth2 authorization server."""
    from app.accounts.resolver import init_app as init_credentials
    from app.oauth.server import init_app as init_oauth

    init_credentials(app)
    init_oauth(app)


def configure_apis(app: Flask) -> None:
    """The published API products and their docs."""
    from apis import register_apis

    register_apis(app)


def configure_portal(app: Flask) -> None:
    """The server-rendered portal (the developer portal today)."""
    from portal import register_portal

    register_portal(app)
