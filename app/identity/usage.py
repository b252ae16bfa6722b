"""Usage of one app for the developer portal: calls by hour and day, errors, 429s, quota.

It reads billing's SQL ledger (``billing.ledger.usage_by_period``) and adds the calls still in
Redis buckets that the metering flush has not moved yet, so a call shows up a moment after it
was made. The gateway counts status classes (2xx … 5xx), not single status codes; rejected
calls (rate limit or quota) are the 429s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.accounts.services import Actor, get_app, list_subscriptions, now
from app.live import get_redis


@dataclass
class Period:
    """Calls in one hour or day."""

    start: datetime
    admitted: int = 0
    rejected: int = 0
    classes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def errors(self) -> int:
        """Admitted calls answered with a 4xx or 5xx."""
        return self.classes.get("4xx", 0) + self.classes.get("5xx", 0)


@dataclass
class ProductUsage:
    """One product's usage and quota for an app."""

    product: str
    plan_name: str
    monthly_quota: int | None
    used_this_month: int
    admitted: int = 0
    rejected: int = 0
    classes: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def quota_percent(self) -> float:
        """Share of the monthly quota used (0 for unlimited plans)."""
        if not self.monthly_quota:
            return 0.0
        return min(100.0, 100.0 * self.used_this_month / self.monthly_quota)


@dataclass
class AppUsage:
    """Everything the usage page shows."""

    hours: list[Period]
    days: list[Period]
    products: list[ProductUsage]
    recent: list[dict[str, Any]]
    calls: list[Any] = field(default_factory=list)  # the last calls with their status codes

    @property
    def total(self) -> int:
        """All calls (admitted and rejected) over the days shown."""
        return sum(p.admitted + p.rejected for p in self.days)


def _rows(session: Session, organisation_id: int, app_id: int, start: datetime,
          end: datetime) -> list[Any]:
    from billing.ledger import LedgerDelta, usage_by_period
    from billing.metering import deltas_of

    rows: list[Any] = []
    for group in usage_by_period(session, organisation_id, granularity="hour", start=start,
                                 end=end, app_id=app_id):
        classes = group["status_classes"]
        for status_class, count in classes.items():
            rows.append(LedgerDelta(app_id, organisation_id, group["product"], status_class,
                                    group["period_start"], count, 0))
        if group["rejected"]:
            rows.append(LedgerDelta(app_id, organisation_id, group["product"], "4xx",
                                    group["period_start"], 0, group["rejected"]))
    client = get_redis()
    from app.gateway import keys

    for pattern in (keys.tag(app_id) + ":u:*", keys.tag(app_id) + ":claimed:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            for delta in deltas_of(key.decode(), client.hgetall(key)):
                if start <= delta.period_start < end:
                    rows.append(delta)
    return rows


def app_usage(session: Session, actor: Actor, app_id: int, *, days: int = 7) -> AppUsage:
    """An app's calls over the last ``days`` days (by day) and 24 hours (by hour)."""
    app = get_app(session, actor, app_id)
    current = now()
    hour_now = current.replace(minute=0, second=0, microsecond=0)
    day_now = hour_now.replace(hour=0)
    start = day_now - timedelta(days=days - 1)
    rows = _rows(session, app.organisation_id, app.id, start, hour_now + timedelta(hours=1))
    hours = {hour_now - timedelta(hours=i): Period(hour_now - timedelta(hours=i))
             for i in range(23, -1, -1)}
    by_day = {day_now - timedelta(days=i): Period(day_now - timedelta(days=i))
              for i in range(days - 1, -1, -1)}
    subscriptions = {s.product.slug: s for s in list_subscriptions(session, actor, app.id)}
    products: dict[str, ProductUsage] = {}
    month = current.strftime("%Y%m")
    from app.gateway import keys

    client = get_redis()
    for slug, sub in subscriptions.items():
        used = int(client.get(keys.quota_key(app.id, slug, month)) or 0)
        products[slug] = ProductUsage(slug, sub.plan.name, sub.plan.monthly_quota, used)
    recent: list[dict[str, Any]] = []
    for row in rows:
        minute = row.period_start
        hour = minute.replace(minute=0, second=0, microsecond=0)
        for bucket in (hours.get(hour), by_day.get(hour.replace(hour=0))):
            if bucket is not None:
                bucket.admitted += row.admitted
                bucket.rejected += row.rejected
                if row.admitted:
                    bucket.classes[row.status_class] += row.admitted
        product = products.setdefault(row.product, ProductUsage(row.product, "not subscribed",
                                                                None, 0))
        product.admitted += row.admitted
        product.rejected += row.rejected
        if row.admitted:
            product.classes[row.status_class] += row.admitted
        if row.rejected:
            product.classes["429"] += row.rejected
        recent.append({"at": minute, "product": row.product, "status_class": row.status_class,
                       "admitted": row.admitted, "rejected": row.rejected})
    recent.sort(key=lambda r: r["at"], reverse=True)
    from app.gateway.recorder import recent_calls

    return AppUsage(list(hours.values()), list(by_day.values()),
                    sorted(products.values(), key=lambda p: p.product), recent[:20],
                    recent_calls(client, app.id))
