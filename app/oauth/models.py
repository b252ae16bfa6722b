"""OAuth2 tables: clients, authorization codes, refresh tokens and the JWT signing key set.

Client secrets, authorization codes and refresh tokens are stored as SHA-256 digests only; the
access tokens are self-contained JWTs (RFC 9068) and are not stored at all.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import App
from app.db import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow


class OAuthClient(Base):
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


class AuthorizationCode(Base):
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


class RefreshToken(Base):
    """A refresh token (RFC 6749 section 6), stored hashed; rotated on every use."""

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
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """One key of the JWT signing key set; ``active`` signs, ``retiring`` still verifies."""

    __tablename__ = "oauth_signing_key"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'retiring', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(16), default="RS256")
    private_jwk: Mapped[dict] = mapped_column(JSONDocument)  # never served
    public_jwk: Mapped[dict] = mapped_column(JSONDocument)
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
