"""One-time tokens mailed to people: email verification, password reset, team invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, UTCDateTime, utcnow

PURPOSES = ("verify", "reset", "invite")


class EmailToken(Base):
    """A single-use token sent by email; only its SHA-256 is stored."""

    __tablename__ = "email_token"
    __table_args__ = (
        sa.CheckConstraint("purpose IN ('verify', 'reset', 'invite')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    user_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # Invitations only: where to and with which role, and who invited.
    organisation_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(sa.String(16))
    invited_by_user_id: Mapped[int | None] = mapped_column(
        BigIntPK, sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
