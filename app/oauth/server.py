"""The OAuth2 authorization server, built on Authlib.

Grants: client credentials (RFC 6749 section 4.4), authorization code (section 4.1) with PKCE
(RFC 7636, S256 only, required for public clients), refresh tokens (section 6, rotated on use).
Endpoints: token, revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414) and the
JWK Set of the RFC 9068 access token signing keys.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app

from app.accounts.models import User
from app.accounts.services import now
from app.db import get_db
from app.oauth.models import (
    CONFIDENTIAL_AUTH_METHODS,
    AuthorizationCode,
    OAuthClient,
    RefreshToken,
    sha256_hex,
)
from app.oauth.tokens import (
    audience,
    decode_access_token,
    is_access_token_revoked,
    issue_access_token,
    issuer,
    revoke_access_token,
)

log = logging.getLogger("mobihub.oauth")
SCOPES_SUPPORTED = ["parking:read", "transit:read"]
CODE_LIFETIME = timedelta(minutes=5)  # RFC 6749 section 4.1.2: 10 minutes at most


def _session() -> Any:
    return get_db().session()


def query_client(client_id: str) -> OAuthClient | None:
    """The registered client, or None (Authlib then answers ``invalid_client``)."""
    if not client_id or len(client_id) > 64:
        return None
    return _session().scalar(sa.select(OAuthClient).where(OAuthClient.client_id == client_id))


def save_token(token: dict[str, Any], request: Any) -> None:
    """Keep the refresh token's digest; JWT access tokens are self-contained and not stored."""
    refresh = token.get("refresh_token")
    if not refresh:
        return
    session = _session()
    issued = now()
    lifetime = timedelta(seconds=int(current_app.config.get("REFRESH_TOKEN_SECONDS",
                                                            30 * 86_400)))
    # A rotated token joins the lineage of the one it replaces (RFC 9700 section 4.14.2).
    parent = getattr(request, "refresh_token", None)
    lineage = {"family_id": parent.family_id} if isinstance(parent, RefreshToken) else {}
    session.add(RefreshToken(token_sha256=sha256_hex(refresh), client_id=request.client.client_id,
                             user_id=request.user.id if request.user else None,
                             scope=token.get("scope", ""), issued_at=issued,
                             expires_at=issued + lifetime, **lineage))
    session.commit()


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only: ``plain`` offers no protection when the request leaks (RFC 7636
    section 7.2, RFC 9700 section 2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """RFC 6749 section 4.4, with the secret in Basic auth or in the form body."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def validate_token_request(self) -> None:
        super().validate_token_request()
        # RFC 6749 section 5.2 invalid_scope: asking only for products the app is not
        # subscribed to is an error, not an empty token.
        requested = self.request.payload.scope
        if requested and not self.client.get_allowed_scope(requested):
            raise InvalidScopeError("The app is not subscribed to the products of this scope.")


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """RFC 6749 section 4.1, codes stored hashed, used once, PKCE mandatory for public clients."""

    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        data = self.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        # RFC 9700 section 2.1.1: public clients MUST use PKCE; we accept only S256.
        if self.client.is_public and not challenge:
            raise InvalidRequestError("Public clients must send a PKCE 'code_challenge' (S256).",
                                      redirect_uri=redirect_uri, state=self.request.payload.state)
        if challenge and method != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.",
                                      redirect_uri=redirect_uri, state=self.request.payload.state)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        session = _session()
        session.add(AuthorizationCode(
            code_sha256=sha256_hex(code), client_id=request.client.client_id,
            user_id=request.user.id, redirect_uri=request.payload.redirect_uri or "",
            scope=request.payload.scope or "", code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            expires_at=now() + CODE_LIFETIME))
        session.commit()

    def query_authorization_code(self, code: str, client: OAuthClient) -> Any:
        row = _session().scalar(sa.select(AuthorizationCode).where(
            AuthorizationCode.code_sha256 == sha256_hex(code),
            AuthorizationCode.client_id == client.client_id))
        if row is None or row.expires_at <= now():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # RFC 6749 section 4.1.2: a code is used once.
        session = _session()
        session.delete(authorization_code)
        session.flush()

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        return _session().get(User, authorization_code.user_id)


def revoke_refresh_token_family(session: Any, family_id: str) -> int:
    """Revoke every live token of a lineage: a spent refresh token came back, so it leaked and
    either its thief or its owner holds the newest one (RFC 9700 section 4.14.2)."""
    result = session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now()))
    session.commit()
    if result.rowcount:
        log.warning("refresh token reuse: lineage revoked",
                    extra={"family": family_id, "revoked": result.rowcount})
    return result.rowcount


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """RFC 6749 section 6; each use issues a new refresh token and revokes the old one
    (RFC 9700 section 4.14.2, refresh token rotation)."""

    TOKEN_ENDPOINT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        session = _session()
        row = session.scalar(sa.select(RefreshToken).where(
            RefreshToken.token_sha256 == sha256_hex(refresh_token)))
        if row is not None and row.is_revoked():
            revoke_refresh_token_family(session, row.family_id)
            return None
        if row is None or row.is_expired():
            return None
        return row

    def authenticate_user(self, refresh_token: RefreshToken) -> User | None:
        return _session().get(User, refresh_token.user_id) if refresh_token.user_id else None

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        refresh_token.revoked_at = now()
        _session().commit()


class AccessTokenRecord:
    """A verified JWT access token, shaped as Authlib's endpoints expect a token."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims

    def check_client(self, client: OAuthClient) -> bool:
        return self.claims.get("client_id") == client.client_id

    def get_scope(self) -> str:
        return self.claims.get("scope", "")

    def is_expired(self) -> bool:
        return self.claims["exp"] <= now().timestamp()

    def is_revoked(self) -> bool:
        return is_access_token_revoked(self.claims)


def _query_token(token_string: str, token_type_hint: str | None) -> Any:
    if token_type_hint != "refresh_token":  # noqa: S105 (a hint name, RFC 7009 section 2.1)
        claims = decode_access_token(token_string)
        if claims is not None:
            return AccessTokenRecord(claims)
    if token_type_hint != "access_token":  # noqa: S105
        return _session().scalar(sa.select(RefreshToken).where(
            RefreshToken.token_sha256 == sha256_hex(token_string or "")))
    return None


class TokenRevocationEndpoint(RevocationEndpoint):
    """RFC 7009: refresh tokens are marked revoked; access tokens are denied by ``jti``."""

    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _query_token(token_string, token_type_hint)

    def revoke_token(self, token: Any, request: Any) -> None:
        if isinstance(token, AccessTokenRecord):
            revoke_access_token(token.claims)
            return
        token.revoked_at = token.revoked_at or now()
        _session().commit()


class TokenIntrospectionEndpoint(IntrospectionEndpoint):
    """RFC 7662: a confidential client may introspect the tokens issued to it."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return _query_token(token_string, token_type_hint)

    def check_permission(self, token: Any, client: OAuthClient, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Any) -> dict[str, Any]:
        if isinstance(token, AccessTokenRecord):
            claims = token.claims
            return {"active": True, "token_type": "Bearer", "scope": claims.get("scope", ""),
                    "client_id": claims["client_id"], "sub": claims["sub"],
                    "aud": claims["aud"], "iss": claims["iss"], "exp": claims["exp"],
                    "iat": claims["iat"], "jti": claims["jti"]}
        return {"active": True, "token_type": "refresh_token", "scope": token.scope,
                "client_id": token.client_id, "iss": issuer(),
                "exp": int(token.expires_at.timestamp()),
                "iat": int(token.issued_at.timestamp()),
                **({"sub": str(token.user_id)} if token.user_id else {})}


def _expires_in(client: OAuthClient, grant_type: str) -> int:
    return int(current_app.config.get("ACCESS_TOKEN_SECONDS", 600))


def _refresh_token(client: OAuthClient, grant_type: str, user: Any, scope: str) -> str:
    return f"mobr_{generate_token(43)}"


def build_server(app: Flask) -> AuthorizationServer:
    """The Authlib authorization server with our grants and endpoints."""
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", BearerTokenGenerator(
        access_token_generator=issue_access_token, refresh_token_generator=_refresh_token,
        expires_generator=_expires_in))
    server.scopes_supported = SCOPES_SUPPORTED
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(TokenRevocationEndpoint)
    server.register_endpoint(TokenIntrospectionEndpoint)
    return server


def server_metadata() -> dict[str, Any]:
    """RFC 8414 section 2 authorization server metadata."""
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/oauth/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "revocation_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "access_token_signing_alg_values_supported": ["RS256"],
        "mobihub_access_token_audience": audience(),
    }


def init_app(app: Flask) -> None:
    """Create the authorization server and register its endpoints."""
    from app.oauth.views import oauth_blueprint, well_known

    app.extensions["mobihub.oauth"] = build_server(app)
    app.register_blueprint(oauth_blueprint)
    app.register_blueprint(well_known)
