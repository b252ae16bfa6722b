"""Usage ledger tables: metered calls per app, product, status class and minute."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntPK, UTCDateTime, utcnow


class UsageLedger(Base):
    """Calls of one app to one product in one minute with one status class.

    ``app_id`` and ``organisation_id`` are plain indexed integers, not foreign keys: the ledger
    is what invoices and provider payouts are computed from, so it outlives a deleted app.
    Status class ``unknown`` holds admitted calls whose worker died before reporting the
    response status; ``4xx`` also holds rejected calls (401 excepted: no app is known).
    """

    __tablename__ = "usage_ledger"
    __table_args__ = (
        sa.UniqueConstraint("app_id", "product", "status_class", "period_start"),
        sa.Index("ix_usage_ledger_org_period", "organisation_id", "period_start"),
        sa.Index("ix_usage_ledger_app_period", "app_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    app_id: Mapped[int] = mapped_column(sa.BigInteger)
    organisation_id: Mapped[int] = mapped_column(sa.BigInteger)
    product: Mapped[str] = mapped_column(sa.String(32))
    status_class: Mapped[str] = mapped_column(sa.String(8))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)  # the minute, UTC
    count_admitted: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    count_rejected: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class UsageFlushClaim(Base):
    """Journal of the Redis buckets a flush applied: a claim is applied to the ledger once.

    Written in the same transaction as the ledger deltas; the claimed Redis key is deleted
    only after commit, so a rerun after a crash skips (and deletes) what was committed.
    """

    __tablename__ = "usage_flush_claim"

    claim_key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    flush_id: Mapped[str] = mapped_column(sa.String(32))
    calls: Mapped[int] = mapped_column(sa.BigInteger)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
