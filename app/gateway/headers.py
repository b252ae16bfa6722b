"""``RateLimit-Policy`` and ``RateLimit`` fields, draft-ietf-httpapi-ratelimit-headers-09.

Both are Structured Field lists (RFC 9651) of named policies: a policy item carries ``q``
(quota units per window) and ``w`` (window, seconds); the ``RateLimit`` item carries ``r``
(remaining units) and ``t`` (seconds until the quota resets). The hub has two policies per
product: "rate" (the GCRA burst, refilled at the plan's rate) and "month" (the monthly quota).
They are built on every metered response, so what depends only on the plan or the month is
computed once.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from app.gateway.admission import FORCED_REJECT, Decision, month_end
from app.gateway.identity import PlanLimits


@lru_cache(maxsize=4096)
def _policy(plan: PlanLimits) -> str:
    window = max(1, math.ceil(plan.burst / max(plan.requests_per_second, 1)))
    policy = f'"rate";q={plan.burst};w={window}'
    if plan.monthly_quota is not None:
        policy += f', "month";q={plan.monthly_quota};w=2678400'
    return policy


def rate_limit_fields(plan: PlanLimits, decision: Decision) -> tuple[str, str]:
    """``(RateLimit-Policy, RateLimit)`` for a call admitted or rejected under ``plan``."""
    if decision.allowed or decision.reason == FORCED_REJECT:  # 403: the limits untouched
        remaining, reset = max(0, decision.remaining), max(0, decision.reset_seconds)
    else:
        remaining, reset = 0, max(0, decision.retry_after)
    state = f'"rate";r={remaining};t={reset}'
    if plan.monthly_quota is not None:
        left = max(0, plan.monthly_quota - decision.quota_used)
        reset = max(1, math.ceil(month_end(decision.month) - time.time()))
        state += f', "month";r={left};t={reset}'
    return _policy(plan), state

