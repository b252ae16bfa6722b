"""Request context the parking views share: the clock, the stale threshold, GeoJSON output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, current_app, json, request

from app.db import utcnow

GEOJSON = "application/geo+json"
# GeoJSON (RFC 7946) as an alternative representation of the same 200 response.
GEOJSON_DOC = {"responses": {"200": {"content": {GEOJSON: {"schema": {
    "type": "object", "description": "RFC 7946 FeatureCollection; properties as in JSON",
    "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                   "features": {"type": "array", "items": {"type": "object"}},
                   "next_cursor": {"type": "string", "nullable": True}}}}}}}}


def stale_after() -> float:
    """Seconds after which a reading is stale (the ``PARKING_STALE_AFTER_SECONDS`` setting)."""
    return float(current_app.config["PARKING_STALE_AFTER_SECONDS"])


def now() -> Any:
    """The current time, aware."""
    return utcnow()


def wants_geojson() -> bool:
    """Whether the client asked for ``application/geo+json`` over JSON."""
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON])
    return best == GEOJSON and request.accept_mimetypes[GEOJSON] > request.accept_mimetypes[
        "application/json"]


def feature_collection(items: Iterable[dict[str, Any]], *, next_cursor: str | None = None
                       ) -> Response:
    """A GeoJSON response: facilities as points (or their outline), zones as their geometry."""
    features = []
    for item in items:
        properties = {k: v for k, v in item.items() if k not in ("geometry", "location")}
        geometry = item.get("geometry")
        if geometry is None and item.get("location"):
            location = item["location"]
            geometry = {"type": "Point", "coordinates": [location["lon"], location["lat"]]}
        features.append({"type": "Feature", "id": item["id"], "geometry": geometry,
                         "properties": properties})
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return Response(json.dumps(body), mimetype=GEOJSON)
