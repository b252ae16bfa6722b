"""Parking test data: real feeds imported through the real sync path, and small inline feeds."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from providers.fetch import Payload
from providers.sync import ImportOutcome, import_feed, import_payload

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = PROJECT_ROOT / "docs" / "mappings"


def mapping(name: str) -> dict[str, Any]:
    """One of the onboarding mappings shipped in docs/mappings."""
    return yaml.safe_load((MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8"))


def import_file(session: Any, redis: Any, path: Path, *, provider: str, format_name: str,
                mapping_name: str | None = None, clock: Any = None) -> ImportOutcome:
    """Import a real file for ``provider`` the way ``mobihub feeds import`` does."""
    config = {"mapping": mapping(mapping_name)} if mapping_name else {}
    options = {"clock": clock} if clock else {}
    return import_feed(session, provider=provider, source=str(path), format_name=format_name,
                       config=config, live=redis, **options)


def lot(source_id: str, lat: float, lon: float, **properties: Any) -> dict[str, Any]:
    """A GeoJSON lot feature for ``import_lots``."""
    return {"type": "Feature", "id": source_id,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": source_id, "name": properties.pop("name", source_id),
                           **properties}}


LOT_MAPPING: dict[str, Any] = {
    "fields": {
        "source_id": "id", "name": "name", "kind": "kind", "capacity": "capacity",
        "free": "free", "observed_at": "observed_at", "status": "status",
        "opening_hours": "opening_hours", "ev_charging": "ev", "tariff": "tariff",
        "capacity_ev_charging": "ev_spaces",
    }
}


def import_lots(session: Any, redis: Any, lots: list[dict[str, Any]], *,
                provider: str = "testcity", now: datetime | None = None) -> ImportOutcome:
    """Import a small GeoJSON feed of lots written by the test."""
    body = json.dumps({"type": "FeatureCollection", "features": lots}).encode()
    options = {"clock": (lambda: now)} if now else {}
    return import_payload(session, provider=provider, payload=Payload(body, f"{provider}.json"),
                          format_name="geojson", config={"mapping": LOT_MAPPING}, live=redis,
                          **options)


def import_zones_csv(session: Any, redis: Any, rows: list[str], *, provider: str = "zonecity",
                     extra_fields: dict[str, Any] | None = None) -> ImportOutcome:
    """Import zones from CSV rows ``id;name;wkt`` (plus optional tariff JSON column)."""
    body = ("id;name;wkt;tariff\n" + "\n".join(rows)).encode()
    fields = {"source_id": "id", "name": "name", "wkt": "wkt", "segment_width": {"const": 10}}
    fields.update(extra_fields or {})
    return import_payload(session, provider=provider, payload=Payload(body, "zones.csv"),
                          format_name="csv", config={"mapping": {"record_type": "zone",
                                                                 "fields": fields}},
                          live=redis)
