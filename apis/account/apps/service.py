"""The account API's calls into the account services, acting as the caller's organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.accounts import services
from app.accounts.services import Actor, app_summary, key_summary
from app.db import get_db
from app.gateway.identity import Identity


def _actor(identity: Identity) -> Actor:
    return Actor.app_credential(identity.organisation_id)


def list_apps(identity: Identity) -> list[dict[str, Any]]:
    """The caller's organisation's apps."""
    session = get_db().session()
    return [app_summary(a) for a in services.list_apps(session, _actor(identity))]


def get_app(identity: Identity, app_id: int) -> dict[str, Any]:
    """One app of the caller's organisation (404 for any other)."""
    return app_summary(services.get_app(get_db().session(), _actor(identity), app_id))


def list_keys(identity: Identity, app_id: int) -> list[dict[str, Any]]:
    """An app's keys."""
    session = get_db().session()
    return [key_summary(k) for k in services.list_api_keys(session, _actor(identity), app_id)]


def _key_of_app(identity: Identity, app_id: int, key_id: str) -> Any:
    return services.get_api_key(get_db().session(), _actor(identity), key_id, app_id)


def create_key(identity: Identity, app_id: int, *, label: str, scopes: list[str],
               expires_at: datetime | None) -> dict[str, Any]:
    """Issue a key; the response is the only time the full key is shown."""
    with get_db().transaction() as session:
        issued = services.issue_api_key(session, _actor(identity), app_id, label=label,
                                        scopes=scopes, expires_at=expires_at)
        return {**key_summary(issued.key), "key": issued.raw}


def rotate_key(identity: Identity, app_id: int, key_id: str, overlap_seconds: int
               ) -> dict[str, Any]:
    """Issue a successor; the old key works until the overlap ends."""
    _key_of_app(identity, app_id, key_id)
    with get_db().transaction() as session:
        issued = services.rotate_api_key(session, _actor(identity), key_id,
                                         overlap_seconds=overlap_seconds)
        return {**key_summary(issued.key), "key": issued.raw}


def revoke_key(identity: Identity, app_id: int, key_id: str) -> dict[str, Any]:
    """Revoke a key now."""
    _key_of_app(identity, app_id, key_id)
    with get_db().transaction() as session:
        return key_summary(services.revoke_api_key(session, _actor(identity), key_id))
