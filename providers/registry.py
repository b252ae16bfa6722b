"""Format name → adapter, and (kind, real-time) → the writer that stores its records.

Adapters and writers are named by import path so that importing the registry stays cheap and
free of cycles; ``mobihub feeds import --format NAME`` accepts exactly the names below.
"""

from __future__ import annotations

import importlib
from typing import Any

from providers.base import Adapter

ADAPTERS: dict[str, str] = {
    "gtfs": "providers.gtfs.adapter:GtfsAdapter",
    "gtfs-rt": "providers.gtfs_rt.adapter:GtfsRealtimeAdapter",
    "datex2": "providers.datex2.adapter:Datex2Adapter",
    "parkapi": "providers.parkapi.adapter:ParkApiAdapter",
    "geojson": "providers.geojson.adapter:GeoJsonAdapter",
    "csv": "providers.tabular.adapter:CsvAdapter",
}

# (adapter kind, real-time?) → writer class path. See ``providers.sync.FeedWriter``.
WRITERS: dict[tuple[str, bool], str] = {
    ("transit", False): "providers.transit.store:TransitFeedWriter",
    ("transit", True): "providers.transit.live:TransitRealtimeWriter",
    ("parking", False): "providers.parking.store:ParkingFeedWriter",
    ("parking", True): "providers.parking.live:ParkingAvailabilityWriter",
}


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
