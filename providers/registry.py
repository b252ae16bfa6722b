"""Format name → adapter, and (kind, real-time) → the writer that stores its records.

Adapters and writers are named by import path so that importing the registry stays cheap and
free of cycles; ``mobihub feeds import --format NAME`` accepts exactly the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from providers.base import Adapter

ADAPTERS: dict[str, str] = {}

# (adapter kind, real-time?) → writer class path. See ``providers.sync.FeedWriter``.
WRITERS: dict[tuple[str, bool], str] = {}


class UnknownFormatError(LookupError):
    """No adapter is registered under that format name."""


def format_names() -> list[str]:
    """The formats that can be imported."""
    return sorted(ADAPTERS)


def get_adapter(format_name: str) -> Adapter:
    """A fresh adapter for ``format_name``."""
    try:
        path = ADAPTERS[format_name]
    except KeyError:
        known = ", ".join(format_names()) or "none"
        raise UnknownFormatError(f"Unknown feed format {format_name!r}; known: {known}.") from None
    return _load(path)()


def get_writer(kind: str, realtime: bool) -> Any:
    """The writer that stores records of this kind."""
    try:
        path = WRITERS[(kind, realtime)]
    except KeyError:
        mode = "real-time" if realtime else "static"
        raise UnknownFormatError(f"No writer for {mode} {kind} records.") from None
    return _load(path)()


def _load(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)
