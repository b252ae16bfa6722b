"""Fixed-window attempt counters in Redis, for login and password-reset throttling."""

from __future__ import annotations

import hashlib

from app.live import get_redis


def _key(action: str, identifier: str) -> str:
    # Hash the identifier: emails and addresses never appear in Redis key names.
    digest = hashlib.sha256(identifier.strip().lower().encode()).hexdigest()[:32]
    return f"mh:throttle:{action}:{digest}"


def attempts(action: str, identifier: str) -> int:
    """How many attempts were counted in the current window."""
    value = get_redis().get(_key(action, identifier))
    return int(value or 0)


def count_attempt(action: str, identifier: str, window_seconds: int) -> int:
    """Count one attempt; the window starts at the first attempt and lasts ``window_seconds``."""
    pipe = get_redis().pipeline()
    key = _key(action, identifier)
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    count, _ = pipe.execute()
    return int(count)


def is_throttled(action: str, identifiers: dict[str, int]) -> bool:
    """True when any identifier (``{identifier: limit}``) reached its limit."""
    return any(attempts(action, ident) >= limit for ident, limit in identifiers.items() if ident)


def clear(action: str, identifier: str) -> None:
    """Forget an identifier's attempts (after a successful login)."""
    get_redis().delete(_key(action, identifier))
