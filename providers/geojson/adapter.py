"""Generic GeoJSON or JSON parking data, driven by a field mapping (providers.parking.mapping).

Reads WFS-style FeatureCollections in WGS84 or in a projected CRS (the legacy GeoJSON 2008
``crs`` member, e.g. ``urn:ogc:def:crs:EPSG::25832``, or the mapping's ``crs``), reprojected
with pyproj; and plain JSON lists of lots (``records: lots``) with lat/lon fields.
RFC 7946 §4: GeoJSON coordinates are [lon, lat].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport
from providers.parkapi.adapter import load_json
from providers.parking.mapping import FieldMapping, lookup

DEFAULT_FIELDS: dict[str, Any] = {
    "source_id": {"first": ["id", "@id"]},
    "name": {"first": ["name", "title"]},
    "kind": {"first": ["kind", "type"]},
    "capacity": {"first": ["capacity", "total"]},
    "address": "address",
    "url": "url",
}


class GeoJsonAdapter:
    """GeoJSON FeatureCollections and JSON lot lists, with a mapping."""

    info = AdapterInfo(format="geojson", kind="parking", realtime=False,
                       title="GeoJSON / JSON with a field mapping",
                       media_types=("application/geo+json", "application/json"))

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Map every feature or list entry to a facility, zone or reading."""
        mapping = FieldMapping.from_config(config, required=False, defaults=DEFAULT_FIELDS)
        document = load_json(payload)
        items = _items(document, mapping.spec.get("records"))
        crs = _declared_crs(document)
        report = ValidationReport()
        source = str(config.get("source") or "")
        out: list[Any] = []
        for index, item in enumerate(items):
            where = {"file": source, "line": index}
            if not isinstance(item, Mapping):
                report.error("invalid_record", "A record is not a JSON object; it is skipped.",
                             **where)
                continue
            if item.get("type") == "Feature":
                record, geometry = item.get("properties") or {}, item.get("geometry")
                feature = {**item, "$document": document}
            else:
                geometry = item.get("geometry") if isinstance(item.get("geometry"), dict) else None
                record, feature = item, {"$document": document}
            built = mapping.build(record, geometry=geometry, crs=crs, report=report, where=where,
                                  feature=feature)
            if built is not None:
                out.append(built)
        key = ("availability" if mapping.realtime else
               "zones" if mapping.record_type == "zone" else "facilities")
        return ImportResult({key: out}, report, meta={"realtime": mapping.realtime})


def _items(document: Any, records_path: str | None) -> list[Any]:
    if records_path not in (None, "", "."):
        items = lookup(document, str(records_path))
        if not isinstance(items, list):
            raise FeedFormatError(f"The mapping's records path {records_path!r} does not lead "
                                  "to a list in this document.", code="wrong_publication")
        return items
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        return list(document.get("features") or [])
    if isinstance(document, dict) and document.get("type") == "Feature":
        return [document]
    raise FeedFormatError("Expected a GeoJSON FeatureCollection or a JSON list of records "
                          "(or set 'records' in the mapping).", code="wrong_publication")


def _declared_crs(document: Any) -> str | None:
    # GeoJSON 2008 named CRS: {"type": "name", "properties": {"name": "urn:ogc:def:crs:…"}}
    if isinstance(document, dict):
        crs = document.get("crs")
        if isinstance(crs, dict):
            name = (crs.get("properties") or {}).get("name")
            return str(name) if name else None
    return None
