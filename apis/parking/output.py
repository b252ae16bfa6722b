"""Request context the parking views share: the clock, the stale threshold, GeoJSON output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, current_app, json, jsonify, request

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


# --- list responses without the schema dump ---------------------------------------------------
# The list views return their page as a ready Response: flask-smorest passes it through
# (the schema still documents it), and the marshmallow dump of 10 facilities (~0.5 ms, about
# as long as the queries) is skipped. These functions give exactly what the dump would: the
# declared fields only, in declaration order, with the same conversions; tests/apis/parking
# compare them with FacilityPageSchema / ZonePageSchema dumps.

_AVAILABILITY_KEYS = ("free", "occupied", "capacity", "status", "trend", "observed_at",
                      "received_at", "age_seconds", "stale", "live")


def facility_item(item: dict[str, Any]) -> dict[str, Any]:
    """A facility of ``queries.facility_dict`` (list form) as ``FacilitySchema`` dumps it."""
    out = dict(item)  # facility_dict builds the keys in the schema's order
    location = item["location"]
    out["location"] = {"lat": float(location["lat"]), "lon": float(location["lon"])}
    out["capacity"] = {str(k): None if v is None else int(v)
                       for k, v in item["capacity"].items()}
    availability = item["availability"]
    if availability is not None:
        out["availability"] = {k: availability[k] for k in _AVAILABILITY_KEYS
                               if k in availability}
    if "distance_m" in item:
        out["distance_m"] = float(item["distance_m"])
    return out


def zone_item(item: dict[str, Any]) -> dict[str, Any]:
    """A zone of ``queries.zone_dict`` / ``zones_at`` as ``ZoneSchema`` dumps it."""
    out = dict(item)  # zone_dict builds the keys in the schema's order
    if out["capacity"] is not None:
        out["capacity"] = int(out["capacity"])
    if "distance_m" in item:
        out["distance_m"] = float(item["distance_m"])
    return out


def page_response(page: dict[str, Any], item_form: Any) -> Response:
    """A page (``items``, ``next_cursor``) as JSON, each item in its dumped form."""
    return jsonify({"items": [item_form(item) for item in page["items"]],
                    "next_cursor": page["next_cursor"]})
