"""JWT access tokens (RFC 9068): the signing key set, issuing, and local verification.

The key set lives in the database (``oauth_signing_key``). One key is ``active`` and signs;
after a rotation the previous key is ``retiring``: it no longer signs but still verifies, so
tokens it signed stay valid until they expire or the key is retired. Private keys never leave
the server; ``/oauth/jwks.json`` serves the public halves of active and retiring keys.

``resolve_bearer_token`` verifies a token with the key set cached in process (reloaded when the
revocation epoch moves, or every ``JWKS_CACHE_SECONDS``), so a request needs no database read.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy.orm import Session

from app.accounts.models import Subscription
from app.accounts.resolver import app_profile, bump_revocation_epoch, credential_cache
from app.accounts.services import _after_commit_bump_epoch, now
from app.db import Database, get_db
from app.gateway.identity import Identity
from app.oauth.keystore import is_sealed, seal, seal_plaintext_keys, unseal
from app.oauth.models import SigningKey

log = logging.getLogger("mobihub.oauth")
ALGORITHM = "RS256"
REVOKED_JTI_KEY = "mobihub:oauth:revoked-jti"


def issuer() -> str:
    """The ``iss`` of our tokens and metadata (RFC 8414 section 2): the hub's base URL."""
    return (current_app.config.get("OAUTH_ISSUER") or current_app.config["BASE_URL"]).rstrip("/")


def audience() -> str:
    """The ``aud`` of our access tokens (RFC 9068 section 2.2): the hub's APIs."""
    return current_app.config.get("OAUTH_AUDIENCE") or issuer()


# --- the key set ------------------------------------------------------------------------------


def _new_key() -> SigningKey:
    kid = f"{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    # The private half is stored sealed (app/oauth/keystore.py), never as a plain JWK.
    return SigningKey(kid=kid, algorithm=ALGORITHM,
                      private_jwk=seal(key.as_dict(private=True), kid),
                      public_jwk=key.as_dict(private=False), status="active", created_at=now())


def ensure_signing_key(session: Session) -> SigningKey:
    """The active signing key, created on first use."""
    key = session.scalar(sa.select(SigningKey).where(SigningKey.status == "active")
                         .order_by(SigningKey.id.desc()))
    if key is None:
        key = _new_key()
        session.add(key)
        session.flush()
    return key


def rotate_signing_keys(session: Session) -> SigningKey:
    """A new active key; the old active key retires from signing but keeps verifying, and the
    key retiring before it is retired for good."""
    for old in session.scalars(sa.select(SigningKey).where(SigningKey.status == "retiring")):
        old.status, old.retired_at = "retired", now()
    for old in session.scalars(sa.select(SigningKey).where(SigningKey.status == "active")):
        old.status = "retiring"
    key = _new_key()
    session.add(key)
    seal_plaintext_keys(session)  # keys kept from before sealing existed are sealed too
    session.flush()
    _after_commit_bump_epoch(session)
    return key


def retire_signing_key(session: Session, kid: str) -> SigningKey:
    """Stop trusting a key: tokens it signed are refused from now on."""
    from app.errors import Problem

    key = session.scalar(sa.select(SigningKey).where(SigningKey.kid == kid))
    if key is None:
        raise Problem(404, "not-found", "Not Found", f"No signing key {kid!r}.")
    if key.status == "active":
        raise Problem(409, "conflict", "Conflict", "Rotate first: the active key cannot retire.")
    key.status, key.retired_at = "retired", now()
    session.flush()
    _after_commit_bump_epoch(session)
    return key


def public_jwks(session: Session) -> dict[str, Any]:
    """The JWK Set (RFC 7517 section 5) of keys that verify: public parts only."""
    ensure_signing_key(session)
    keys = session.scalars(sa.select(SigningKey).where(
        SigningKey.status.in_(("active", "retiring"))).order_by(SigningKey.id.desc()))
    return {"keys": [dict(k.public_jwk) for k in keys]}


@dataclass
class _KeySetState:
    verify: KeySet | None  # None: no key yet, so no token of ours exists
    kids: frozenset[str]
    loaded_at: float


def _verification_keys() -> _KeySetState:
    cache = credential_cache()
    at = now().timestamp()
    state: _KeySetState | None = cache.extras.get("jwks")
    if state is None or at - state.loaded_at >= current_app.config.get("JWKS_CACHE_SECONDS", 60):
        session = Database.state().factory()
        try:
            # Read only: with no key yet, no token of ours can exist.
            jwks = {"keys": [dict(k.public_jwk) for k in session.scalars(
                sa.select(SigningKey).where(SigningKey.status.in_(("active", "retiring"))))]}
        finally:
            session.close()
        state = _KeySetState(KeySet.import_key_set(jwks) if jwks["keys"] else None,
                             frozenset(k["kid"] for k in jwks["keys"]), at)
        cache.extras["jwks"] = state
    return state


# --- issuing ----------------------------------------------------------------------------------


def issue_access_token(client: Any, grant_type: str, user: Any, scope: str) -> str:
    """An RFC 9068 JWT access token for a client (Authlib calls this from the token endpoint)."""
    session = get_db().session()
    key = session.scalar(sa.select(SigningKey).where(SigningKey.status == "active")
                         .order_by(SigningKey.id.desc()))
    if key is None:
        key = ensure_signing_key(session)
        session.commit()  # the token endpoint's session: nothing else is pending in it
    if not is_sealed(key.private_jwk):
        # A key set from before sealing existed: encrypt every row on its first use.
        seal_plaintext_keys(session)
        session.commit()
    private = RSAKey.import_key(unseal(key.private_jwk, key.kid))
    kid = key.kid
    issued_at = int(now().timestamp())
    app = client.app
    claims = {
        "iss": issuer(),
        "exp": issued_at + int(current_app.config.get("ACCESS_TOKEN_SECONDS", 600)),
        "aud": audience(),
        # RFC 9068 section 2.2: the resource owner, or the client itself without one.
        "sub": str(user.id) if user is not None else client.client_id,
        "client_id": client.client_id,
        "iat": issued_at,
        "jti": secrets.token_urlsafe(16),
        "scope": scope or "",
        # Private claims (RFC 7519 section 4.3) so the gateway needs no database read.
        "mobihub_app": app.id,
        "mobihub_org": app.organisation_id,
        "mobihub_env": app.environment,
    }
    # RFC 9068 section 2.1: typ "at+jwt".
    return jwt.encode({"alg": ALGORITHM, "typ": "at+jwt", "kid": kid}, claims, private)


def allowed_scopes(app_id: int) -> set[str]:
    """The scopes an app may ask for: those of the products it is subscribed to."""
    session = Database.state().factory()
    try:
        subscriptions = session.scalars(sa.select(Subscription).where(
            Subscription.app_id == app_id))
        return {scope for s in subscriptions for scope in s.product.scopes}
    finally:
        session.close()


# --- verifying --------------------------------------------------------------------------------


def decode_access_token(token: str) -> dict[str, Any] | None:
    """The claims of one of our access tokens if signature, type, issuer, audience and expiry
    hold (RFC 9068 section 4); None otherwise. Revocation is checked separately."""
    if not token or token.count(".") != 2 or len(token) > 4096:
        return None
    keys = _verification_keys()
    if keys.verify is None:
        return None
    try:
        decoded = jwt.decode(token, keys.verify, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return None
    header, claims = decoded.header, decoded.claims
    if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
        return None
    if header.get("kid") not in keys.kids:
        return None
    if claims.get("iss") != issuer():
        return None
    audiences = claims.get("aud")
    if audience() not in (audiences if isinstance(audiences, list) else [audiences]):
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now().timestamp():
        return None
    return claims


def _revoked_jtis() -> set[str]:
    cache = credential_cache()
    revoked = cache.extras.get("revoked_jti")
    if revoked is None:
        client = current_app.extensions["mobihub.live"].client
        try:
            entries = client.hgetall(REVOKED_JTI_KEY)
        except redis.RedisError:
            return set()  # tokens are short-lived: expiry still bounds a revoked token
        at = now().timestamp()
        revoked = {jti.decode() for jti, exp in entries.items() if float(exp) > at}
        cache.extras["revoked_jti"] = revoked
    return revoked


def is_access_token_revoked(claims: dict[str, Any]) -> bool:
    """Whether the token's ``jti`` was revoked (RFC 7009)."""
    return claims.get("jti") in _revoked_jtis()


def revoke_access_token(claims: dict[str, Any]) -> None:
    """Deny a JWT until it expires: its ``jti`` goes into a Redis hash every worker reads."""
    client = current_app.extensions["mobihub.live"].client
    client.hset(REVOKED_JTI_KEY, claims["jti"], claims["exp"])
    bump_revocation_epoch()


def resolve_bearer_token(token: str | None) -> Identity | None:
    """The caller's identity for ``Authorization: Bearer <JWT>``, verified locally against the
    cached key set (no database read per request), or None."""
    claims = decode_access_token(token or "")
    if claims is None or is_access_token_revoked(claims):
        return None
    try:
        app_id = int(claims["mobihub_app"])
    except (KeyError, TypeError, ValueError):
        return None
    profile = app_profile(app_id)
    if profile is None or profile.organisation_id != claims.get("mobihub_org"):
        return None
    scopes = frozenset(str(claims.get("scope") or "").split()) & profile.scopes
    return Identity(app_id=app_id, organisation_id=profile.organisation_id,
                    credential_id=str(claims["client_id"]), credential_kind="jwt",
                    environment=profile.environment, scopes=scopes,
                    subscriptions=profile.subscriptions)

