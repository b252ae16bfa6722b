"""The SQL usage ledger: idempotent delta upserts (flush side) and usage reports (API side)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from billing.models import UsageLedger


@dataclass(frozen=True)
class LedgerDelta:
    """Calls to add to one ledger row."""

    app_id: int
    organisation_id: int
    product: str
    status_class: str
    period_start: datetime
    admitted: int
    rejected: int


def apply_deltas(session: Session, deltas: Iterable[LedgerDelta]) -> None:
    """Add each delta to its row, creating the row if needed (INSERT … ON CONFLICT DO UPDATE)."""
    rows = [
        {"app_id": d.app_id, "organisation_id": d.organisation_id, "product": d.product,
         "status_class": d.status_class, "period_start": d.period_start,
         "count_admitted": d.admitted, "count_rejected": d.rejected}
        for d in deltas
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UsageLedger)
    statement = statement.on_conflict_do_update(
        index_elements=["app_id", "product", "status_class", "period_start"],
        set_={
            "count_admitted": UsageLedger.count_admitted + statement.excluded.count_admitted,
            "count_rejected": UsageLedger.count_rejected + statement.excluded.count_rejected,
        },
    )
    session.execute(statement, rows)


def totals(session: Session, *, app_id: int | None = None,
           organisation_id: int | None = None) -> dict[str, int]:
    """Admitted and rejected calls in the ledger, for an app and/or an organisation."""
    query = sa.select(sa.func.coalesce(sa.func.sum(UsageLedger.count_admitted), 0),
                      sa.func.coalesce(sa.func.sum(UsageLedger.count_rejected), 0))
    if app_id is not None:
        query = query.where(UsageLedger.app_id == app_id)
    if organisation_id is not None:
        query = query.where(UsageLedger.organisation_id == organisation_id)
    admitted, rejected = session.execute(query).one()
    return {"admitted": int(admitted), "rejected": int(rejected)}


GRANULARITIES = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def usage_by_period(session: Session, organisation_id: int, *, granularity: str,
                    start: datetime, end: datetime, app_id: int | None = None
                    ) -> list[dict[str, Any]]:
    """Calls per period (UTC hour or day), product and app, with the status classes."""
    query = sa.select(UsageLedger).where(
        UsageLedger.organisation_id == organisation_id,
        UsageLedger.period_start >= start, UsageLedger.period_start < end)
    if app_id is not None:
        query = query.where(UsageLedger.app_id == app_id)
    groups: dict[tuple[datetime, int, str], dict[str, Any]] = {}
    classes: dict[tuple[datetime, int, str], dict[str, int]] = defaultdict(
        lambda: defaultdict(int))
    for row in session.scalars(query):
        period = truncate(row.period_start, granularity)
        key = (period, row.app_id, row.product)
        group = groups.setdefault(key, {"period_start": period, "app_id": row.app_id,
                                        "product": row.product, "admitted": 0, "rejected": 0})
        group["admitted"] += row.count_admitted
        group["rejected"] += row.count_rejected
        if row.count_admitted:
            classes[key][row.status_class] += row.count_admitted
    result = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2])):
        group = groups[key]
        group["status_classes"] = {k: v for k, v in sorted(classes[key].items()) if v}
        result.append(group)
    return result


def truncate(moment: datetime, granularity: str) -> datetime:
    """The start of the UTC hour or day containing ``moment``."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if granularity == "day" else moment


MAX_RANGE = {"hour": timedelta(days=31), "day": timedelta(days=400)}
DEFAULT_RANGE = {"hour": timedelta(hours=24), "day": timedelta(days=30)}


def usage_report(organisation_id: int, *, granularity: str = "day", app_id: int | None = None,
                 start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """An organisation's usage report; an app of another organisation is a 404."""
    from app.accounts.models import App
    from app.db import get_db, utcnow
    from app.errors import Problem

    session = get_db().session()
    if app_id is not None:
        owner = session.scalar(sa.select(App.organisation_id).where(App.id == app_id))
        if owner != organisation_id:
            raise Problem(404, "not-found", "Not Found", "No such app.")
    end = (end or utcnow()).astimezone(UTC)
    start = (start or end - DEFAULT_RANGE[granularity]).astimezone(UTC)
    if not start < end or end - start > MAX_RANGE[granularity]:
        raise Problem(422, "invalid-range", "Invalid range",
                      f"start must be before end, at most {MAX_RANGE[granularity].days} days "
                      f"apart for granularity {granularity}.")
    items = usage_by_period(session, organisation_id, granularity=granularity, start=start,
                            end=end, app_id=app_id)
    return {"organisation_id": organisation_id, "granularity": granularity, "start": start,
            "end": end, "items": items,
            "totals": {"admitted": sum(i["admitted"] for i in items),
                       "rejected": sum(i["rejected"] for i in items)}}
