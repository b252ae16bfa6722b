"""A Redis DB index of its own for a test or benchmark run.

Runs that share one Redis server (parallel test runs, xdist workers' sessions, benchmarks)
each claim a free DB index with SET NX on a key in DB 0, so no two ever flush each other's
data; the claim expires on its own if a run dies without releasing it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis


class RedisClaimError(RuntimeError):
    """The Redis server is unreachable, or every DB index is claimed by another run."""


def _claim_key(index: int) -> str:
    return f"mobihub:test-db-claim:{index}"


@contextmanager
def claimed_redis_db(server_url: str, ttl_seconds: int) -> Iterator[str]:
    """The URL of a DB index claimed for this run; flushed and released afterwards."""
    control = redis.Redis.from_url(f"{server_url}/0")
    try:
        try:
            control.ping()
        except redis.RedisError as exc:
            raise RedisClaimError(f"Redis is not reachable at {server_url}: {exc}") from None
        databases = int(control.config_get("databases").get("databases", 16))
        token = secrets.token_hex(8)
        index = next((i for i in range(1, databases)
                      if control.set(_claim_key(i), token, nx=True, ex=ttl_seconds)), None)
        if index is None:
            raise RedisClaimError(f"every Redis DB index at {server_url} is claimed by "
                                  "another run")
        try:
            yield f"{server_url}/{index}"
        finally:
            if control.get(_claim_key(index)) == token.encode():
                redis.Redis.from_url(f"{server_url}/{index}").flushdb()
                control.delete(_claim_key(index))
    finally:
        control.close()
