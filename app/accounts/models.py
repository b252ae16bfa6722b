"""Account tables: users, organisations and their members, apps, API keys, products, plans and
subscriptions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow

ROLES = ("owner", "admin", "developer", "billing")
ENVIRONMENTS = ("live", "test")
CLIENT_TYPES = ("confidential", "public")


class User(Base):
    """A person who signs in (portal, OAuth consent) and belongs to organisations."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Stored lower-cased so look-ups are case-insensitive on every backend.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))  # argon2id, PHC string
    email_verified: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Organisation(Base):
    """A company, city or team that owns apps (developers) or services (providers)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    """A user's role in an organisation."""

    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "user_id"),
        sa.CheckConstraint("role IN ('owner', 'admin', 'developer', 'billing')", name="role"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class App(Base):
    """A developer's application: it holds API keys and OAuth clients and subscribes to products."""

    __tablename__ = "app"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "name"),
        sa.CheckConstraint("environment IN ('live', 'test')", name="environment"),
        sa.CheckConstraint("client_type IN ('confidential', 'public')", name="client_type"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    environment: Mapped[str] = mapped_column(sa.String(8), default="live")
    client_type: Mapped[str] = mapped_column(sa.String(16), default="confidential")
    redirect_uris: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ApiKey(Base):
    """An API key: public id (its prefix), SHA-256 of the secret, never the secret itself."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(32), unique=True)  # "mob_live_3hT9xQ2a"
    app_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("app.id", ondelete="CASCADE"), index=True
    )
    secret_sha256: Mapped[str] = mapped_column(sa.String(64))
    environment: Mapped[str] = mapped_column(sa.String(8))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    scopes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)  # [] = all subscribed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The key this one replaced by rotation (the old key's expiry is the overlap's end).
    replaces_key_id: Mapped[str | None] = mapped_column(sa.String(32))

    app: Mapped[App] = relationship(lazy="joined")


class Product(Base):
    """A billable API product (``parking``, ``transit``) and the OAuth scopes it grants."""

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    scopes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)


class Plan(Base):
    """Limits and price an app is held to for a product."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    requests_per_second: Mapped[int] = mapped_column(sa.Integer)
    burst: Mapped[int] = mapped_column(sa.Integer)
    monthly_quota: Mapped[int | None] = mapped_column(sa.BigInteger)  # None: unlimited
    price_per_1000_calls_minor: Mapped[int] = mapped_column(sa.Integer, default=0)
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")  # ISO 4217
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class Subscription(Base):
    """An app's subscription to one product under one plan."""

    __tablename__ = "subscription"
    __table_args__ = (sa.UniqueConstraint("app_id", "product_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    app_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("app.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(
        BigIntPK, sa.ForeignKey("product.id", ondelete="RESTRICT")
    )
    plan_id: Mapped[int] = mapped_column(BigIntPK, sa.ForeignKey("plan.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")
    plan: Mapped[Plan] = relationship(lazy="joined")
