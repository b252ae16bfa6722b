"""Plan limits the gateway applies when none is configured (plans live in ``app.accounts``)."""

from __future__ import annotations

from app.gateway.identity import PlanLimits

# The free plan's defaults: what a new app gets until it subscribes under another plan.
FREE_PLAN = PlanLimits(plan="free", requests_per_second=5, burst=10, monthly_quota=10_000,
                       price_per_1000_calls_minor=0, currency="EUR")
