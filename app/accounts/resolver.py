"""API key → ``Identity`` for the gateway, with an in-process TTL cache.

Cost per request: parsing and checksum (no I/O), a dict look-up, one SHA-256 and a
constant-time compare. SQL is read at most once per key per ``KEY_CACHE_TTL_SECONDS``.

Why a revocation epoch on top of the TTL: a TTL alone bounds how long a revoked key keeps
working by the TTL, so a short TTL would mean more SQL reads. Instead every change that must
take effect quickly (revoke, rotate, plan change, signing key rotation, token revocation)
increments one Redis integer, the revocation epoch. Each worker reads that integer at most once
per ``REVOCATION_CHECK_SECONDS`` (one tiny GET per second per worker, not per request) and drops
its caches when it moved. Revocation is therefore effective on every worker within about a
second; if Redis is unreachable the TTL still bounds it (a few seconds).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, current_app

from app.accounts.keys import hash_secret, parse_key, secret_matches
from app.accounts.models import ApiKey, App, Subscription
from app.db import Database
from app.gateway.identity import Identity, PlanLimits

log = logging.getLogger("mobihub.accounts")
EPOCH_KEY = "mobihub:accounts:revocation-epoch"
LAST_USED_INTERVAL = timedelta(minutes=1)
# Compared against when a key id is unknown, so unknown and wrong secrets cost the same.
_UNKNOWN_HASH = hash_secret("0" * 24)


@dataclass
class _KeyRecord:
    secret_sha256: str
    app_id: int
    organisation_id: int
    environment: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked: bool


@dataclass
class _AppProfile:
    organisation_id: int
    environment: str
    subscriptions: dict[str, PlanLimits]
    scopes: frozenset[str]
    loaded_at: float


@dataclass
class CredentialCache:
    """Per-process (per app) cache of key records and app subscription profiles."""

    ttl: float
    check_interval: float
    max_entries: int = 50_000
    # key id → (record or None for an unknown id, when it was read)
    keys: OrderedDict[str, tuple[_KeyRecord | None, float]] = field(default_factory=OrderedDict)
    profiles: dict[int, _AppProfile] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # other caches dropped on epoch change
    epoch: bytes | None = None
    epoch_checked_at: float = float("-inf")
    last_used_written: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        """Forget everything (the epoch moved)."""
        with self.lock:
            self.keys.clear()
            self.profiles.clear()
            self.extras.clear()

    def sync_epoch(self, client: redis.Redis | None, at: float) -> None:
        """Read the revocation epoch if the last read is older than ``check_interval``."""
        if at - self.epoch_checked_at < self.check_interval or client is None:
            return
        self.epoch_checked_at = at
        try:
            epoch = client.get(EPOCH_KEY)
        except redis.RedisError:
            return  # the TTL still bounds staleness
        if epoch != self.epoch:
            self.clear()
            self.epoch = epoch


def init_app(app: Flask) -> None:
    """Attach a fresh credential cache to the app."""
    app.config.setdefault("KEY_CACHE_TTL_SECONDS", 5.0)
    app.config.setdefault("REVOCATION_CHECK_SECONDS", 1.0)
    app.extensions["mobihub.credential_cache"] = CredentialCache(
        ttl=float(app.config["KEY_CACHE_TTL_SECONDS"]),
        check_interval=float(app.config["REVOCATION_CHECK_SECONDS"]),
    )


def credential_cache() -> CredentialCache:
    """The current app's credential cache (synchronised with the revocation epoch)."""
    from app.accounts.services import now

    cache: CredentialCache = current_app.extensions["mobihub.credential_cache"]
    cache.sync_epoch(_redis(), now().timestamp())
    return cache


def bump_revocation_epoch() -> None:
    """Tell every worker to drop its cached credentials (within ``REVOCATION_CHECK_SECONDS``)."""
    client = _redis()
    cache = current_app.extensions.get("mobihub.credential_cache")
    if cache is not None:
        cache.clear()  # this worker at once
        cache.epoch_checked_at = float("-inf")
    if client is None:
        return
    try:
        client.incr(EPOCH_KEY)
    except redis.RedisError:
        log.warning("revocation epoch not published: Redis unavailable; caches expire by TTL")


def forget_app(app_id: int) -> None:
    """Drop this worker's cached profile of an app (a new app may reuse a deleted one's id)."""
    cache = current_app.extensions.get("mobihub.credential_cache")
    if cache is not None:
        cache.profiles.pop(app_id, None)


def _redis() -> redis.Redis | None:
    live = current_app.extensions.get("mobihub.live")
    return live.client if live is not None else None


def resolve_api_key(raw: str | None) -> Identity | None:
    """The caller's identity for an ``X-API-Key`` value, or None (malformed, unknown, wrong
    secret, expired or revoked). Called by the gateway on every request."""
    parsed = parse_key(raw)
    if parsed is None:
        return None  # typo or garbage: rejected by the checksum, no database read
    from app.accounts.services import now

    current = now()
    at = current.timestamp()
    cache = credential_cache()
    cached = cache.keys.get(parsed.key_id)
    if cached is not None and at - cached[1] < cache.ttl:
        record = cached[0]
    else:
        record = _load_key(parsed.key_id)
        with cache.lock:
            cache.keys[parsed.key_id] = (record, at)
            cache.keys.move_to_end(parsed.key_id)
            while len(cache.keys) > cache.max_entries:
                cache.keys.popitem(last=False)
    matches = secret_matches(parsed.secret, record.secret_sha256 if record else _UNKNOWN_HASH)
    if record is None or not matches or record.revoked:
        return None
    if record.expires_at is not None and record.expires_at <= current:
        return None
    profile = app_profile(record.app_id)
    if profile is None:
        return None
    _touch_last_used(cache, parsed.key_id, current)
    scopes = frozenset(record.scopes) if record.scopes else profile.scopes
    return Identity(app_id=record.app_id, organisation_id=record.organisation_id,
                    credential_id=parsed.key_id, credential_kind="api_key",
                    environment=record.environment, scopes=scopes,
                    subscriptions=profile.subscriptions)


def app_profile(app_id: int) -> _AppProfile | None:
    """An app's organisation and subscriptions, read from SQL at most once per TTL."""
    from app.accounts.services import now

    at = now().timestamp()
    cache = credential_cache()
    profile = cache.profiles.get(app_id)
    if profile is None or at - profile.loaded_at >= cache.ttl:
        profile = _load_profile(app_id, at)
        if profile is None:
            return None
        with cache.lock:
            cache.profiles[app_id] = profile
    return profile


def _session() -> Any:
    return Database.state().factory()


def _load_key(key_id: str) -> _KeyRecord | None:
    session = _session()
    try:
        row = session.execute(
            sa.select(ApiKey.secret_sha256, ApiKey.app_id, App.organisation_id,
                      ApiKey.environment, ApiKey.scopes, ApiKey.expires_at, ApiKey.revoked_at)
            .join(App, App.id == ApiKey.app_id).where(ApiKey.key_id == key_id)).first()
    finally:
        session.close()
    if row is None:
        return None
    return _KeyRecord(row.secret_sha256, row.app_id, row.organisation_id, row.environment,
                      tuple(row.scopes or ()), row.expires_at, row.revoked_at is not None)


def _load_profile(app_id: int, at: float) -> _AppProfile | None:
    session = _session()
    try:
        app = session.get(App, app_id)
        if app is None:
            return None
        subscriptions = list(session.scalars(
            sa.select(Subscription).where(Subscription.app_id == app_id)))
        limits = {
            s.product.slug: PlanLimits(
                plan=s.plan.slug, requests_per_second=s.plan.requests_per_second,
                burst=s.plan.burst, monthly_quota=s.plan.monthly_quota,
                price_per_1000_calls_minor=s.plan.price_per_1000_calls_minor,
                currency=s.plan.currency)
            for s in subscriptions
        }
        scopes = frozenset(scope for s in subscriptions for scope in s.product.scopes)
        return _AppProfile(app.organisation_id, app.environment, limits, scopes, at)
    finally:
        session.close()


def _touch_last_used(cache: CredentialCache, key_id: str, current: datetime) -> None:
    # At most one UPDATE per key per minute per worker, on its own short session so the
    # request's transaction is never committed as a side effect.
    previous = cache.last_used_written.get(key_id)
    if previous is not None and current - previous < LAST_USED_INTERVAL:
        return
    cache.last_used_written[key_id] = current
    session = _session()
    try:
        session.execute(sa.update(ApiKey).where(
            ApiKey.key_id == key_id,
            sa.or_(ApiKey.last_used_at.is_(None),
                   ApiKey.last_used_at <= current - LAST_USED_INTERVAL),
        ).values(last_used_at=current))
        session.commit()
    except sa.exc.SQLAlchemyError:
        session.rollback()
        log.warning("last-used time not recorded", extra={"key_id": key_id})
    finally:
        session.close()
