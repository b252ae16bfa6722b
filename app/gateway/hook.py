"""The gateway hook on every API product request.

Order (docs/gateway.md): which product (URL prefix) → credential (``X-API-Key`` or
``Authorization: Bearer``) → identity (in-process TTL cache over the resolvers) → scope and
subscription → ONE Redis round trip (``Admission.admit``: rate limit, quota, usage bucket)
→ the view → headers, and the status class deferred to the recorder.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, Response, request

from app.errors import Problem
from app.gateway import keys
from app.gateway.admission import (
    FORCED_REJECT,
    OK,
    QUOTA_EXCEEDED,
    RATE_LIMITED,
    Admission,
    Decision,
    emission_interval_us,
    month_of,
)
from app.gateway.credentials import parse_credential
from app.gateway.headers import rate_limit_fields
from app.gateway.identity import Identity, PlanLimits
from app.gateway.recorder import REDIS_ERRORS, UsageRecorder
from app.gateway.resolvers import IdentityCache, resolvers_from_config

log = logging.getLogger("mobihub.gateway")
# Products whose calls are public (no credential, not metered); "account" authenticates in
# its own services (apis/account) and is not metered.
UNMETERED_PRODUCTS = frozenset({"catalog", "account"})
REDIS_RETRY_SECONDS = 1.0
WWW_AUTHENTICATE = 'Bearer realm="mobihub", ApiKey realm="mobihub" header="X-API-Key"'


# Where the before hook leaves its decision for the after hook: the request's WSGI environ
# (one dict lookup; ``flask.g`` costs a context-variable proxy on each access).
STATE_KEY = "mobihub.gateway"


@dataclass(slots=True)
class CallState:
    """What the gateway decided about the current request (kept in the request's environ)."""

    identity: Identity
    product: str
    plan: PlanLimits | None
    decision: Decision


class Gateway:
    """Per-app gateway: identity cache, admission script, recorder and background thread."""

    def __init__(self, app: Flask, products: list[str]) -> None:
        self.app = app
        self.products = {p: p for p in products if p not in UNMETERED_PRODUCTS}
        self.enabled = bool(app.config.get("GATEWAY_ENABLED", True))
        self.redis_down_mode = str(app.config.get("GATEWAY_REDIS_DOWN", "serve")).lower()
        if self.redis_down_mode not in {"serve", "refuse"}:
            raise ValueError("GATEWAY_REDIS_DOWN must be serve or refuse")
        self.identities = IdentityCache(resolvers_from_config(app.config),
                                        float(app.config.get("GATEWAY_IDENTITY_TTL_SECONDS", 1)))
        client = app.extensions["mobihub.live"].client
        self.admission = Admission(client)
        self.recorder = UsageRecorder(self.admission)
        self.report_interval = float(app.config.get("GATEWAY_REPORT_INTERVAL_SECONDS", 0.5))
        flush_setting = str(app.config.get("USAGE_FLUSH_IN_WORKER", "auto")).lower()
        embedded = app.extensions["mobihub.live"].embedded
        self.flush_in_worker = flush_setting == "on" or (flush_setting == "auto" and embedded)
        self.flush_interval = float(app.config.get("USAGE_FLUSH_INTERVAL_SECONDS", 60))
        # Tests drive reporting and flushing themselves (drain/flush), never a thread.
        self.background = not app.config.get("TESTING")
        self._redis_down_until = 0.0
        self._local_tat: dict[tuple[int, str], float] = {}
        self._last_quota: dict[tuple[int, str, str], int] = {}
        self.scopes = {p: f"{p}:read" for p in self.products}
        self._thread_started = False
        self._stop = threading.Event()
        # A forked worker inherits the flag but not the thread: start it again there (a weak
        # reference: the hook must not keep every app a test process builds alive).
        gateway = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_thread(gateway))

    def reset(self) -> None:
        """Forget cached identities, held counts and local limiter state (tests)."""
        self.identities.clear()
        self.recorder.discard()
        self._local_tat.clear()
        self._last_quota.clear()
        self._redis_down_until = 0.0

    # --- request hooks --------------------------------------------------------------------

    def product_of(self, path: str) -> str | None:
        """The metered product a path belongs to, from its first segment (``/parking/…``)."""
        first = path[1:].partition("/")[0]
        return self.products.get(first)

    def before_request(self) -> None:
        """Authenticate, authorise and admit the call, or raise 401/403/429/503."""
        req = request._get_current_object()  # one context lookup for the whole hook
        product = self.product_of(req.path)
        if product is None or req.method == "OPTIONS":
            return
        if not self._thread_started:
            self._ensure_background()
        environ = req.environ
        credential = parse_credential(environ)
        if credential is None:
            raise Problem(401, "unauthenticated", "Unauthenticated",
                          "Send an API key in X-API-Key or an OAuth2 access token in "
                          "Authorization: Bearer.", headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        identity = self.identities.resolve(credential)
        if identity is None:
            raise Problem(401, "invalid-credential", "Invalid credential",
                          "The API key or access token is unknown, expired or revoked.",
                          headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        plan = identity.subscriptions.get(product)
        scope = self.scopes[product]
        if plan is None or scope not in identity.scopes:
            environ[STATE_KEY] = CallState(identity, product, plan,
                                           self._admit(identity, product, plan, reject=True))
            if plan is None:
                raise Problem(403, "subscription-required", "Subscription required",
                              f"This app is not subscribed to the {product} API.")
            raise Problem(403, "insufficient-scope", "Insufficient scope",
                          f"This credential lacks the {scope} scope.", required_scope=scope)
        decision = self._admit(identity, product, plan)
        environ[STATE_KEY] = CallState(identity, product, plan, decision)
        if decision.allowed:
            return
        headers = {"Retry-After": str(decision.retry_after)}
        if decision.reason == QUOTA_EXCEEDED:
            raise Problem(429, "quota-exceeded", "Monthly quota exceeded",
                          f"The {plan.plan} plan allows {plan.monthly_quota} calls a month to "
                          f"the {product} API.", headers=headers)
        raise Problem(429, "rate-limited", "Too many requests",
                      f"The {plan.plan} plan allows {plan.requests_per_second} calls per second "
                      f"(burst {plan.burst}) to the {product} API.", headers=headers)

    def after_request(self, response: Response) -> Response:
        """Add the RateLimit fields; defer the status class of an admitted call."""
        req = request._get_current_object()
        state: CallState | None = req.environ.pop(STATE_KEY, None)
        if state is None:
            return response
        decision = state.decision
        if state.plan is not None:  # no subscription to the product: no policy to describe
            policy, limit = rate_limit_fields(state.plan, decision)
            headers = response.headers
            headers.add("RateLimit-Policy", policy)
            headers.add("RateLimit", limit)
        identity = state.identity
        self.recorder.note(identity.app_id, identity.organisation_id, state.product,
                           decision.minute if decision.allowed else None,
                           response.status_code, req.method, req.path)
        return response

    # --- admission, with Redis down handling ----------------------------------------------

    def _admit(self, identity: Identity, product: str, plan: PlanLimits | None, *,
               reject: bool = False) -> Decision:
        now = time.time()
        if time.monotonic() >= self._redis_down_until:
            try:
                decision = self.admission.admit(identity.app_id, identity.organisation_id,
                                                product, plan, reject=reject, now=now)
            except REDIS_ERRORS as exc:
                self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                log.error("redis unreachable at admission", extra={"error": type(exc).__name__,
                                                                   "mode": self.redis_down_mode})
            else:
                self._last_quota[(identity.app_id, product, decision.month)] = decision.quota_used
                return decision
        if self.redis_down_mode == "refuse":
            raise Problem(503, "gateway-unavailable", "Service unavailable",
                          "Usage cannot be metered right now; retry shortly.",
                          headers={"Retry-After": str(int(REDIS_RETRY_SECONDS) + 1)})
        return self._admit_locally(identity, product, plan, now, reject=reject)

    def _admit_locally(self, identity: Identity, product: str, plan: PlanLimits | None,
                       now: float, *, reject: bool) -> Decision:
        """GCRA and quota in this process while Redis is down; the counts are held for replay.

        Limits are then per worker (a worker cannot see the others); counts stay exact.
        """
        app_id, org = identity.app_id, identity.organisation_id
        minute, month = int(now // 60), month_of(now)
        bucket = keys.bucket_key(app_id, minute)
        rejected = keys.field(product, "4xx", keys.REJECTED)
        if plan is None:
            self.recorder.add(app_id, org, bucket, rejected, 1)
            return Decision(False, FORCED_REJECT, 0, 0, 0, minute, month)
        interval = emission_interval_us(plan) / 1_000_000
        tat = max(self._local_tat.get((app_id, product), now), now)
        ahead = tat + interval - now
        used = self._last_quota.get((app_id, product, month), 0)
        if reject:  # counted, the limits reported as they stand
            self.recorder.add(app_id, org, bucket, rejected, 1)
            remaining = int((interval * plan.burst - (tat - now)) / interval)
            return Decision(False, FORCED_REJECT, remaining, math.ceil(tat - now), used, minute,
                            month)
        if ahead > interval * plan.burst:
            self.recorder.add(app_id, org, bucket, rejected, 1)
            return Decision(False, RATE_LIMITED, 0, int(ahead - interval * plan.burst) + 1,
                            used, minute, month)
        if plan.monthly_quota is not None and used >= plan.monthly_quota:
            self.recorder.add(app_id, org, bucket, rejected, 1)
            return Decision(False, QUOTA_EXCEEDED, 0, 0, used, minute, month)
        self._local_tat[(app_id, product)] = tat + interval
        self._last_quota[(app_id, product, month)] = used + 1
        self.recorder.add(app_id, org, bucket,
                          keys.field(product, keys.UNKNOWN_CLASS, keys.ADMITTED), 1)
        self.recorder.add(app_id, org, keys.quota_key(app_id, product, month), "", 1)
        return Decision(True, OK, int((interval * plan.burst - ahead) / interval),
                        int(ahead) + 1, used + 1, minute, month)

    # --- background work ------------------------------------------------------------------

    def _ensure_background(self) -> None:
        if not self.background or self._thread_started:
            return
        with _START_LOCK:
            if self._thread_started:
                return
            self._thread_started = True
            threading.Thread(target=self._run_background, name="mobihub-gateway",
                             daemon=True).start()
            atexit.register(self.shutdown)

    def _run_background(self) -> None:
        next_flush = time.monotonic() + self.flush_interval
        while not self._stop.wait(self.report_interval):
            try:
                self.recorder.drain()
                if self.flush_in_worker and time.monotonic() >= next_flush:
                    next_flush = time.monotonic() + self.flush_interval
                    self.flush()
            except Exception:  # the thread must survive anything; the next turn retries
                log.exception("gateway background work failed")

    def flush(self) -> Any:
        """Send deferred counts, then move the Redis buckets into the SQL ledger."""
        from billing.metering import flush_usage

        with self.app.app_context():
            return flush_usage()

    def shutdown(self) -> None:
        """Stop the thread and send what is held (worker exit)."""
        self._stop.set()
        try:
            self.recorder.drain()
        except redis.RedisError:
            log.exception("deferred usage could not be sent at exit")


_START_LOCK = threading.Lock()


def _forget_thread(gateway: weakref.ref[Gateway]) -> None:
    instance = gateway()
    if instance is not None:
        instance._thread_started = False


def configure_gateway(app: Flask) -> None:
    """Install the gateway hooks (after the APIs: their products name the metered prefixes)."""
    gateway = Gateway(app, list(app.extensions.get("mobihub.apis", {})))
    app.extensions["mobihub.gateway"] = gateway
    if gateway.enabled:  # GATEWAY_ENABLED=false leaves the APIs open (benchmarks, local work)
        app.before_request(gateway.before_request)
        app.after_request(gateway.after_request)


def get_gateway(app: Flask) -> Gateway:
    """The app's gateway."""
    return app.extensions["mobihub.gateway"]


def authenticate() -> Identity:
    """The identity behind the current request's credential, or a 401 (unmetered APIs)."""
    from flask import current_app

    credential = parse_credential(request.environ)
    identity = get_gateway(current_app).identities.resolve(credential) if credential else None
    if identity is None:
        raise Problem(401, "unauthenticated" if credential is None else "invalid-credential",
                      "Unauthenticated" if credential is None else "Invalid credential",
                      "Send a valid API key in X-API-Key or access token in Authorization: "
                      "Bearer.", headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    return identity
