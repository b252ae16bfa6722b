"""Providers, their feeds and the versions of each feed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigIntPK, JSONDocument, UTCDateTime, utcnow


class Provider(Base):
    """A transport provider (parking operator, transit agency, city) publishing feeds."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feeds: Mapped[list[Feed]] = relationship(back_populates="provider")


class Feed(Base):
    """One feed of a provider in one format; its data is served from the active version."""

    __tablename__ = "feed"
    __table_args__ = (sa.UniqueConstraint("provider_id", "format"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("provider.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(sa.String(32))
    source_url: Mapped[str | None] = mapped_column(sa.Text)
    config: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    active_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feed_version.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    provider: Mapped[Provider] = relationship(back_populates="feeds")
    active_version: Mapped[FeedVersion | None] = relationship(
        foreign_keys=[active_version_id], post_update=True
    )


class FeedVersion(Base):
    """One imported payload of a feed: its hash, counts and validation report.

    Status runs ``importing`` → ``active`` (served) → ``superseded``, or ``importing`` →
    ``rejected``. Only a successful import becomes active, so a broken update never replaces
    the data being served.
    """

    __tablename__ = "feed_version"
    __table_args__ = (sa.Index("ix_feed_version_feed_sha", "feed_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feed.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="importing")
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    content_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    source: Mapped[str | None] = mapped_column(sa.Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_start: Mapped[date | None] = mapped_column(sa.Date)
    service_end: Mapped[date | None] = mapped_column(sa.Date)
    counts: Mapped[dict[str, int]] = mapped_column(JSONDocument, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    error_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    warning_count: Mapped[int] = mapped_column(sa.Integer, default=0)

    feed: Mapped[Feed] = relationship(foreign_keys=[feed_id])
