"""``RateLimit-Policy`` and ``RateLimit`` fields, draft-ietf-httpapi-ratelimit-headers-09.

Both are Structured Field lists (RFC 9651) of named policies: a policy item carries ``q``
(quota units per window) and ``w`` (window, seconds); the ``RateLimit`` item carries ``r``
(remaining units) and ``t`` (seconds until the quota resets). The hub has two policies per
product: "rate" (the GCRA burst, refilled at the plan's rate) and "month" (the monthly quota).
"""

from __future__ import annotations

import math

from app.gateway.admission import Decision, seconds_to_month_end
from app.gateway.identity import PlanLimits


def rate_limit_headers(plan: PlanLimits, decision: Decision) -> dict[str, str]:
    """The two fields for a call admitted or rejected under ``plan``."""
    window = max(1, math.ceil(plan.burst / max(plan.requests_per_second, 1)))
    policies = [f'"rate";q={plan.burst};w={window}']
    reset = decision.retry_after if not decision.allowed else decision.reset_seconds
    remaining = max(0, decision.remaining) if decision.allowed else 0
    states = [f'"rate";r={remaining};t={max(0, reset)}']
    if plan.monthly_quota is not None:
        month_seconds = seconds_to_month_end(decision.month)
        policies.append(f'"month";q={plan.monthly_quota};w=2678400')
        states.append(f'"month";r={max(0, plan.monthly_quota - decision.quota_used)};'
                      f"t={month_seconds}")
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}
