"""OAuth2 tables: clients, authorization codes, refresh tokens and the JWT signing key set.

Client secrets, authorization codes and refresh tokens are stored as SHA-256 digests only; the
access tokens are self-contained JWTs (RFC 9068) and are not stored at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import App
from app.db import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow

CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


def sha256_hex(value: str) -> str:
    """The stored form of a client secret, code or refresh token."""
    return hashlib.sha256(value.encode()).hexdigest()


class OAuthClient(Base, ClientMixin):
    """An app's OAuth2 client registration (RFC 6749 section 2)."""

    __tablename__ = "oauth_client"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    app_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("app.id", ondelete="CASCADE"), index=True
    )
    secret_sha256: Mapped[str | None] = mapped_column(sa.String(64))  # None: public client
    # RFC 7591 section 2: client_secret_basic | client_secret_post | none
    token_endpoint_auth_method: Mapped[str] = mapped_column(sa.String(32))
    grant_types: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    app: Mapped[App] = relationship(lazy="joined")

    # Authlib's ClientMixin: how the authorization server asks about this client.
    @property
    def is_public(self) -> bool:
        """A public client (RFC 6749 section 2.1) has no secret and must use PKCE."""
        return self.secret_sha256 is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.app.redirect_uris or []
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        from app.oauth.tokens import allowed_scopes

        allowed = allowed_scopes(self.app_id)
        if not scope:
            return " ".join(sorted(allowed))
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # RFC 9700 section 2.1: exact string matching of redirect URIs.
        return redirect_uri in (self.app.redirect_uris or [])

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_sha256 is None or self.revoked_at is not None:
            return False
        return hmac.compare_digest(sha256_hex(client_secret), self.secret_sha256)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.revoked_at is not None:
            return False
        if self.is_public:
            # RFC 7009 section 2.1 lets public clients revoke; RFC 7662 needs authentication.
            return method == "none" and endpoint in ("token", "revocation")
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(Base, AuthorizationCodeMixin):
    """A short-lived authorization code (RFC 6749 section 4.1.2) with its PKCE challenge."""

    __tablename__ = "oauth_authorization_code"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("oauth_client.client_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("user_account.id", ondelete="CASCADE")
    )
    redirect_uri: Mapped[str] = mapped_column(sa.Text, default="")
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    code_challenge: Mapped[str | None] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(sa.String(8))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class RefreshToken(Base, TokenMixin):
    """A refresh token (RFC 6749 section 6), stored hashed; rotated on every use.

    Every token rotated from the same grant shares a ``family_id``, so presenting a spent
    token again revokes the whole lineage (RFC 9700 section 4.14.2).
    """

    __tablename__ = "oauth_refresh_token"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("oauth_client.client_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("user_account.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    family_id: Mapped[str] = mapped_column(sa.String(32), index=True,
                                           default=lambda: secrets.token_hex(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OAuthClient] = relationship(lazy="select")

    def check_client(self, client: ClientMixin) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        from app.accounts.services import now

        return self.expires_at <= now()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self) -> object:
        return self.user_id

    def get_client(self) -> ClientMixin:
        return self.client


class SigningKey(Base):
    """One key of the JWT signing key set; ``active`` signs, ``retiring`` still verifies."""

    __tablename__ = "oauth_signing_key"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'retiring', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(16), default="RS256")
    # Sealed with AES-GCM (app/oauth/keystore.py); never served.
    private_jwk: Mapped[dict] = mapped_column(JSONDocument)
    public_jwk: Mapped[dict] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
