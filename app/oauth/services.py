"""OAuth2 client registration: one client per call, its secret shown once and stored hashed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.services import MANAGE_APPS, Actor, authorise, get_app, now
from app.errors import Problem
from app.gateway.identity import Identity
from app.oauth.models import OAuthClient, sha256_hex


@dataclass(frozen=True)
class RegisteredClient:
    """A client just registered: its record and the secret (None for public clients)."""

    client: OAuthClient
    secret: str | None

    def __repr__(self) -> str:
        return f"RegisteredClient(client_id={self.client.client_id!r}, secret='…')"


def create_client(session: Session, actor: Actor, app_id: int) -> RegisteredClient:
    """Register an OAuth2 client for an app: confidential apps get a secret (client credentials
    and authorization code), public apps none (authorization code with PKCE only)."""
    app = get_app(session, actor, app_id)
    authorise(session, actor, app.organisation_id, MANAGE_APPS, what="app")
    client_id = f"mobc_{secrets.token_urlsafe(18)}"
    if app.client_type == "public":
        client = OAuthClient(client_id=client_id, app_id=app.id, secret_sha256=None,
                             token_endpoint_auth_method="none",  # noqa: S106
                             grant_types=["authorization_code", "refresh_token"],
                             created_at=now())
        secret = None
    else:
        secret = f"mobs_{secrets.token_urlsafe(32)}"
        client = OAuthClient(client_id=client_id, app_id=app.id,
                             secret_sha256=sha256_hex(secret),
                             token_endpoint_auth_method="client_secret_basic",  # noqa: S106
                             grant_types=["client_credentials", "authorization_code",
                                          "refresh_token"],
                             created_at=now())
    session.add(client)
    session.flush()
    return RegisteredClient(client, secret)


def resolve_bearer_token(token: str) -> Identity | None:
    """The gateway's bearer resolver: a JWT access token verified locally (see tokens.py)."""
    from app.oauth.tokens import resolve_bearer_token as resolve

    return resolve(token)


def list_clients(session: Session, actor: Actor, app_id: int) -> list[OAuthClient]:
    """An app's OAuth2 clients."""
    get_app(session, actor, app_id)
    return list(session.scalars(sa.select(OAuthClient).where(OAuthClient.app_id == app_id)
                                .order_by(OAuthClient.id)))


def revoke_client(session: Session, actor: Actor, client_id: str) -> OAuthClient:
    """Stop a client from getting tokens (tokens it holds expire on their own)."""
    client = session.scalar(sa.select(OAuthClient).where(OAuthClient.client_id == client_id))
    if client is None:
        raise Problem(404, "not-found", "Not Found", "No such OAuth client.")
    authorise(session, actor, client.app.organisation_id, MANAGE_APPS, what="OAuth client")
    client.revoked_at = client.revoked_at or now()
    session.flush()
    return client
