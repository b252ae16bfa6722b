"""What the gateway knows about a caller once its credential is resolved.

Two parts of the hub meet here: credential resolution (API keys and OAuth2 JWT access tokens,
``app.accounts``/``app.oauth``) produces an ``Identity``; the admission step (rate limit, quota
and meter in one Lua script, ``app.gateway.admission``) consumes it. Keep this contract small
and stable: it is cached in process per credential for a short TTL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PlanLimits:
    """The limits of the plan an app is subscribed to a product under."""

    plan: str  # plan slug, e.g. "free"
    requests_per_second: int
    burst: int  # requests admitted at once before the rate applies (GCRA tolerance)
    monthly_quota: int | None  # None: unlimited
    price_per_1000_calls_minor: int  # integer minor units of ``currency``
    currency: str = "EUR"


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the app, its organisation and its subscriptions."""

    app_id: int
    organisation_id: int
    credential_id: str  # API key id (its public prefix) or OAuth2 client id
    credential_kind: str  # "api_key" | "jwt"
    environment: str  # "live" | "test" (sandbox)
    scopes: frozenset[str]
    # product slug ("parking", "transit", …) → the plan the app is subscribed under
    subscriptions: dict[str, PlanLimits] = field(default_factory=dict)
