"""The live store: Redis for rate limits, meters and real-time data.

``MOBIHUB_REDIS_URL`` selects a Redis server. When it is unset the hub runs on an embedded
in-process store (fakeredis, with Lua scripting through lupa) that speaks the same commands, so
one code path serves both; it lives as long as the process, which suits the single-process
embedded default and nothing else.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app


class LiveStore:
    """Holds the Redis client for the app and says which kind of store it is."""

    def __init__(self) -> None:
        self.client: redis.Redis | None = None
        self.embedded = False
        self.url = ""

    def init_app(self, app: Flask) -> None:
        """Connect to ``REDIS_URL`` or start the embedded store."""
        self.url = app.config.get("REDIS_URL") or ""
        if self.url:
            self.client = redis.Redis.from_url(
                self.url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
            )
            self.embedded = False
        else:
            self.client = _embedded_client()
            self.embedded = True
        app.extensions["mobihub.live"] = self

    def ping(self) -> dict[str, Any]:
        """Reachability for ``/readyz``: ``ok`` and the kind of store."""
        if self.client is None:
            raise RuntimeError("live store used before init_app")
        kind = "embedded" if self.embedded else "redis"
        try:
            self.client.ping()
        except redis.RedisError as exc:
            return {"ok": False, "kind": kind, "error": type(exc).__name__}
        return {"ok": True, "kind": kind}


_EMBEDDED_SERVER: Any = None


def _embedded_client() -> redis.Redis:
    # One fake server per process, shared by every app and thread in it.
    global _EMBEDDED_SERVER
    import fakeredis

    if _EMBEDDED_SERVER is None:
        _EMBEDDED_SERVER = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=_EMBEDDED_SERVER)





def get_redis() -> redis.Redis:
    """The live store's client for the current app."""
    client = current_app.extensions["mobihub.live"].client
    if client is None:
        raise RuntimeError("live store used before init_app")
    return client
