"""Settings read from ``MOBIHUB_*`` environment variables, with safe defaults.

Every setting has one name in the environment (``MOBIHUB_DATABASE_URL``) and the same name
without the prefix in ``app.config`` (``DATABASE_URL``), so tests and operators speak alike.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "MOBIHUB_"


def default_instance_path() -> Path:
    """The instance folder: ``MOBIHUB_INSTANCE_PATH`` or ``./instance`` of the working directory."""
    return Path(os.environ.get(f"{ENV_PREFIX}INSTANCE_PATH") or Path.cwd() / "instance").resolve()


@dataclass
class Settings:
    """Typed settings; ``from_env`` fills them from the environment."""

    INSTANCE_PATH: str = ""
    DATABASE_URL: str = ""
    # PostgreSQL: test each pooled connection with a round trip when it is checked out, so a
    # server restart costs no failed request. False saves that round trip on every request;
    # a connection dropped meanwhile then fails one request (the pool is invalidated by it).
    DATABASE_POOL_PRE_PING: bool = True
    REDIS_URL: str = ""
    SECRET_KEY: str = ""
    # Encrypts the OAuth signing keys at rest (app/oauth/keystore.py); empty: SECRET_KEY.
    OAUTH_KEY_ENCRYPTION_SECRET: str = ""
    LOG_LEVEL: str = "INFO"
    LOG_FORMAT: str = "json"  # json | text
    BASE_URL: str = "http://127.0.0.1:8000"
    MAX_UPLOAD_BYTES: int = 64 * 1024 * 1024
    FEED_FETCH_TIMEOUT_SECONDS: float = 30.0
    FEED_FETCH_MAX_BYTES: int = 512 * 1024 * 1024
    # The whole fetch of one feed, redirects included (the timeout above is per read).
    FEED_FETCH_DEADLINE_SECONDS: float = 600.0
    # Tests and operators on private networks may allow fetching feeds from private addresses.
    FEED_FETCH_ALLOW_PRIVATE: bool = False
    # Outgoing mail (app/mail): smtp://user:pass@host:587 or smtps://…; empty writes .eml files
    # to <instance>/mail/ and logs them, so portal mail flows work with no mail server.
    SMTP_URL: str = ""
    MAIL_FROM: str = "MobiHub <no-reply@localhost>"
    # Gateway (docs/gateway.md): credential resolvers by import path, identity cache TTL (also the
    # longest a revoked key keeps working on a worker), and what to do while Redis is down.
    GATEWAY_ENABLED: bool = True
    GATEWAY_API_KEY_RESOLVER: str = "app.accounts.resolver:resolve_api_key"
    GATEWAY_BEARER_RESOLVER: str = "app.oauth.tokens:resolve_bearer_token"
    GATEWAY_IDENTITY_TTL_SECONDS: float = 1.0
    GATEWAY_REDIS_DOWN: str = "serve"  # serve (count in process, reconcile later) | refuse (503)
    GATEWAY_REPORT_INTERVAL_SECONDS: float = 0.5
    # Metering flush into the SQL ledger: in each web worker (auto: only on the embedded store,
    # where cron cannot reach the in-process Redis) and/or ``mobihub usage flush`` from cron.
    USAGE_FLUSH_IN_WORKER: str = "auto"  # auto | on | off
    USAGE_FLUSH_INTERVAL_SECONDS: float = 60.0
    PARKING_STALE_AFTER_SECONDS: int = 900  # parking readings older than this are stale
    # Embedded store only: how often a worker applies readings other processes recorded
    # (``mobihub feeds import`` of a status publication); 0 turns following off.
    PARKING_EMBEDDED_FOLLOW_SECONDS: float = 2.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``MOBIHUB_*`` variables, converting to each field's type."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(ENV_PREFIX + f.name)
            if raw is None:
                continue
            values[f.name] = _coerce(raw, type(getattr(cls, f.name, "")))
        return cls(**values)

    def as_flask_config(self) -> dict[str, Any]:
        """The settings as upper-case Flask config keys."""
        config = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        config.update(self.extra)
        return config


def _coerce(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    return raw


def resolve_instance_settings(config: dict[str, Any]) -> None:
    """Fill the defaults that live in the instance folder: database file and secret key."""
    instance = Path(config.get("INSTANCE_PATH") or default_instance_path())
    instance.mkdir(parents=True, exist_ok=True)
    config["INSTANCE_PATH"] = str(instance)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'mobihub.sqlite3'}"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = load_or_create_secret_key(instance)


def load_or_create_secret_key(instance: Path) -> str:
    """Generate the secret key once and keep it, readable by the owner only, in the instance."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
