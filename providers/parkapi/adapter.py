"""ParkAPI v1 GeoJSON: one FeatureCollection per city, a ``city`` feature plus one per lot.

https://github.com/offenesdresden/ParkAPI (``city_schema.json``): lot features carry ``name``,
``type`` (Parkhaus, Tiefgarage, Parkplatz …), ``total``, ``address``, optionally ``id`` and
``url``. Lots without an ``id`` get one from their name (unique within a city file).

A city file that lists no lot at all (Frankfurt, Hamburg) is the publisher's truth: it imports
as an empty version with a ``no_lots`` warning (``meta["empty_by_publisher"]``), while a file
whose lots are all unusable is still rejected by the store.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport
from providers.parking.records import FacilityRecord, normalise_kind, parse_int, valid_coordinates


def load_json(payload: bytes) -> Any:
    """Decode JSON (UTF-8, BOM tolerated) or raise a readable ``FeedFormatError``."""
    try:
        return json.loads(payload.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FeedFormatError(f"The payload is not UTF-8 text: {exc}.", code="not_json") from None
    except json.JSONDecodeError as exc:
        raise FeedFormatError(f"The payload is not JSON: {exc.msg} at line {exc.lineno} "
                              f"column {exc.colno}.", code="not_json") from None


def slug_id(name: str) -> str:
    """A stable id made of a name: ``Parkhaus Büchel`` → ``parkhaus-buchel``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "lot"


class ParkApiAdapter:
    """ParkAPI v1 city files."""

    info = AdapterInfo(format="parkapi", kind="parking", realtime=False,
                       title="ParkAPI v1 city GeoJSON", media_types=("application/geo+json",))

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Read the lots of one city file; the ``city`` feature becomes metadata."""
        document = load_json(payload)
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise FeedFormatError("A ParkAPI v1 city file is a GeoJSON FeatureCollection; this "
                                  "document is not.", code="wrong_publication")
        report = ValidationReport()
        source = str(config.get("source") or "")
        facilities: list[FacilityRecord] = []
        meta: dict[str, Any] = {"realtime": False}
        seen: dict[str, str] = {}
        lots = 0
        for index, feature in enumerate(document.get("features") or []):
            properties = (feature or {}).get("properties") or {}
            if properties.get("type") == "city":
                meta["city"] = properties.get("name")
                continue
            lots += 1
            name = str(properties.get("name") or "").strip()
            geometry = (feature or {}).get("geometry") or {}
            coordinates = geometry.get("coordinates") if geometry.get("type") == "Point" else None
            lon, lat = (coordinates[:2] if isinstance(coordinates, list) and len(coordinates) >= 2
                        else (None, None))
            where = {"file": source, "line": index, "field": "features"}
            if not name:
                report.error("missing_name", "A lot has no name; it is skipped.", **where)
                continue
            if not valid_coordinates(_num(lat), _num(lon)):
                report.error("missing_coordinates", f"Lot {name!r} has no Point geometry in "
                             "WGS84; it is skipped.", value=name, **where)
                continue
            kind_word = properties.get("type")
            kind = normalise_kind(kind_word, default="other")
            if kind_word and kind == "other":
                report.warning("unknown_kind", f"Lot type {kind_word!r} is not known; the lot "
                               "is kept as 'other'.", value=kind_word, **where)
            source_id = str(properties.get("id") or slug_id(name))
            if source_id in seen:
                # ParkAPI lists some lots twice under name variants ("Centrum - Galerie").
                report.warning("duplicate_lot", f"Lot {name!r} repeats {seen[source_id]!r}; "
                               "the first entry is kept.", value=name, **where)
                continue
            seen[source_id] = name
            facilities.append(FacilityRecord(
                source_id=source_id, name=name,
                lat=float(lat), lon=float(lon), kind=kind,  # type: ignore[arg-type]
                address=properties.get("address") or None,
                capacity=parse_int(properties.get("total")),
                url=properties.get("url") or None,
                attributes={k: v for k, v in properties.items()
                            if k in ("aux", "source", "park_zone", "obs_parkid")},
            ))
        if lots == 0:
            report.warning("no_lots", "The city file lists no lots; an empty version replaces "
                           "the lots served before.", file=source, field="features")
            meta["empty_by_publisher"] = True
        return ImportResult({"facilities": facilities}, report, meta=meta)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
