"""Read-only catalogue look-ups the portal shows: plans in price order, product coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Plan
from app.accounts.services import ensure_catalog


def list_plans(session: Session) -> list[Plan]:
    """Every plan, in catalogue order, the free plan first."""
    ensure_catalog(session)
    return list(session.scalars(sa.select(Plan).order_by(
        Plan.id)))


@dataclass(frozen=True)
class ProviderCoverage:
    """One provider serving a product: its feeds' formats, record counts and freshness."""

    name: str
    formats: list[str]
    counts: dict[str, int]
    imported_at: datetime | None


def product_coverage(session: Session, kind: str) -> list[ProviderCoverage]:
    """Providers whose active feed versions serve ``kind`` (``parking`` or ``transit``)."""
    from providers.models import Feed, FeedVersion, Provider
    from providers.registry import UnknownFormatError, get_adapter

    rows = session.execute(
        sa.select(Provider.name, Feed.format, FeedVersion.counts, FeedVersion.imported_at)
        .join(Feed, Feed.provider_id == Provider.id)
        .join(FeedVersion, FeedVersion.id == Feed.active_version_id)
        .order_by(Provider.name, Feed.id))
    by_provider: dict[str, ProviderCoverage] = {}
    for name, format_name, counts, imported_at in rows:
        try:
            if get_adapter(format_name).info.kind != kind:
                continue
        except UnknownFormatError:
            continue
        entry = by_provider.setdefault(name, ProviderCoverage(name, [], {}, None))
        if format_name not in entry.formats:
            entry.formats.append(format_name)
        for what, number in (counts or {}).items():
            if isinstance(number, int) and number:
                entry.counts[what] = entry.counts.get(what, 0) + number
        if imported_at and (entry.imported_at is None or imported_at > entry.imported_at):
            by_provider[name] = ProviderCoverage(name, entry.formats, entry.counts, imported_at)
    return list(by_provider.values())
