"""Read-only catalogue look-ups the portal shows: plans in price order."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Plan
from app.accounts.services import ensure_catalog


def list_plans(session: Session) -> list[Plan]:
    """Every plan, in catalogue order, the free plan first."""
    ensure_catalog(session)
    return list(session.scalars(sa.select(Plan).order_by(
        Plan.id)))
