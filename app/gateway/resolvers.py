"""Credential → Identity, through pluggable resolvers and an in-process TTL cache.

Resolvers are plain callables ``(raw: str) -> Identity | None`` named by import path in the
settings (``GATEWAY_API_KEY_RESOLVER``, ``GATEWAY_BEARER_RESOLVER``) and imported on first use,
so the gateway runs before (and independently of) the packages that implement them. A setting
may also hold the callable itself.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from app.gateway.credentials import API_KEY, BEARER, Credential
from app.gateway.identity import Identity

Resolver = Callable[[str], Identity | None]
log = logging.getLogger("mobihub.gateway")
_MISSING = object()


def load_resolver(target: str | Resolver | None) -> Resolver | None:
    """Import ``package.module:function`` (or accept a callable); None when it does not exist."""
    if target is None or callable(target):
        return target
    if not target:
        return None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    resolver = getattr(module, attribute, None)
    return resolver if callable(resolver) else None


class IdentityCache:
    """Resolves credentials at most once per TTL per worker (negative answers included).

    Keys are SHA-256 digests of the credential, so no raw secret is held as a dict key. The TTL
    bounds how long a revoked key or token keeps working on a worker.
    """

    def __init__(self, resolvers: dict[str, str | Resolver | None], ttl: float,
                 max_entries: int = 100_000) -> None:
        self._targets = resolvers
        self._loaded: dict[str, Any] = {}
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Identity | None]] = {}
        self._lock = threading.Lock()

    def resolver(self, kind: str) -> Resolver | None:
        """The resolver of a credential kind, imported lazily (retried until it exists)."""
        resolver = self._loaded.get(kind, _MISSING)
        if resolver is _MISSING or resolver is None:
            resolver = load_resolver(self._targets.get(kind))
            self._loaded[kind] = resolver
        return resolver

    def resolve(self, credential: Credential) -> Identity | None:
        """The identity of a credential, from the cache when fresh."""
        digest = hashlib.sha256(f"{credential.kind}\0{credential.raw}".encode()).digest()
        now = time.monotonic()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        resolver = self.resolver(credential.kind)
        if resolver is None:
            log.warning("no resolver for credential kind", extra={"kind": credential.kind})
            return None
        identity = resolver(credential.raw)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # crude but bounded; the next requests refill it
            self._entries[digest] = (now + self._ttl, identity)
        return identity

    def clear(self) -> None:
        """Forget every cached identity (tests, and a hook for revocation broadcasts)."""
        with self._lock:
            self._entries.clear()


def resolvers_from_config(config: dict[str, Any]) -> dict[str, str | Resolver | None]:
    """The resolver setting of each credential kind."""
    return {
        API_KEY: config.get("GATEWAY_API_KEY_RESOLVER"),
        BEARER: config.get("GATEWAY_BEARER_RESOLVER"),
    }
