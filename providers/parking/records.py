"""Normalised parking records, as every parking adapter emits them.

Adapters build these plain objects; the writers in ``store.py`` and ``live.py`` persist them.
Names follow APDS v4 where it has a concept (see docs/parking.md for the mapping).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

# Facility kinds. APDS v4 ``StructureTypeEnum`` is coarser (offStreetStructure,
# offStreetSurface, onStreet); ``structure_type()`` maps ours onto it.
KINDS = ("garage", "underground", "surface_lot", "on_street", "park_and_ride", "other")
STATUSES = ("open", "closed", "full", "unknown")
TRENDS = ("increasing", "decreasing", "stable", "unknown")
# Capacity categories (APDS ``UserTypeEnum``-like): spaces reserved for a group of users.
CAPACITY_CATEGORIES = ("disabled", "ev_charging", "women", "family", "carsharing", "bus", "truck")

_STRUCTURE_TYPES = {
    "garage": "offStreetStructure",
    "underground": "offStreetStructure",
    "surface_lot": "offStreetSurface",
    "park_and_ride": "offStreetSurface",
    "on_street": "onStreet",
}

# Words publishers use for a kind (German and English, lower case, without punctuation).
_KIND_WORDS = {
    "garage": ("parkhaus", "garage", "multistorey", "carpark", "parkinggarage", "ph",
               "parkhausparkdeck", "parkdeck"),
    "underground": ("tiefgarage", "underground", "undergroundcarpark", "tg"),
    "surface_lot": ("parkplatz", "parkfläche", "parkflache", "surface", "lot", "openspace",
                    "singlelevel", "p", "surfacelot", "parkingLot".lower()),
    "on_street": ("onstreet", "onstreetparking", "strasse", "straße", "street"),
    "park_and_ride": ("parkride", "parkandride", "pr", "p+r", "parkundride"),
}


@dataclass
class AvailabilityRecord:
    """One availability reading of a facility (APDS ``Occupancy``-like)."""

    source_id: str
    observed_at: datetime
    free: int | None = None
    occupied: int | None = None
    capacity: int | None = None
    status: str = "unknown"
    trend: str = "unknown"


@dataclass
class FacilityRecord:
    """A parking facility as published: APDS ``Place`` with characteristics."""

    source_id: str
    name: str
    lat: float
    lon: float
    kind: str = "other"
    geometry: dict[str, Any] | None = None
    address: str | None = None
    capacity: int | None = None
    capacity_by_category: dict[str, int] = field(default_factory=dict)
    max_height_cm: int | None = None
    opening_hours: str | None = None
    opening_times: list[dict[str, Any]] | None = None
    payment_methods: list[str] = field(default_factory=list)
    operator: str | None = None
    url: str | None = None
    description: str | None = None
    ev_charging: bool = False
    tariff: dict[str, Any] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    availability: AvailabilityRecord | None = None


@dataclass
class ZoneRecord:
    """A parking zone: an area polygon or a street segment, with its rules and tariff."""

    source_id: str
    name: str
    geometry: dict[str, Any]
    kind: str = "area"
    capacity: int | None = None
    rules: dict[str, Any] = field(default_factory=dict)
    tariff: dict[str, Any] | None = None


def structure_type(kind: str) -> str | None:
    """The APDS v4 ``StructureTypeEnum`` value of one of our kinds."""
    return _STRUCTURE_TYPES.get(kind)


def normalise_kind(value: Any, default: str = "other") -> str:
    """Map a publisher's kind word (``Tiefgarage``, ``multiStorey``, ``P+R`` …) to a kind."""
    if value is None:
        return default
    text = str(value).strip().lower()
    if text in KINDS:
        return text
    compact = re.sub(r"[\s_\-/.]", "", text)
    for kind, words in _KIND_WORDS.items():
        if compact in words or text in words:
            return kind
    for kind, words in _KIND_WORDS.items():
        if any(len(w) > 3 and w in compact for w in words):
            return kind
    return default


def parse_int(value: Any) -> int | None:
    """An integer from a number or a string like ``"1.234"``, ``"56"`` or ``"7,0"``; else None."""
    number = parse_float(value)
    if number is None:
        return None
    return round(number)


def parse_float(value: Any) -> float | None:
    """A float from a number or a string with a decimal comma (``"7,11523"``); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    text = str(value).strip().replace("\u00a0", "")
    # Units and words around the number: "2,00 m", "ca. 120"
    match = re.search(r"-?\d[\d.,]*", text)
    if match is None:
        return None
    text = match.group(0).rstrip(".,")
    if "," in text and "." in text:
        # German thousands separators: 1.234,5
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_bool(value: Any) -> bool | None:
    """A boolean from the spellings publishers use (``T``, ``ja``, ``WAHR``, ``true`` …)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"t", "true", "1", "ja", "j", "yes", "y", "wahr", "x"}:
        return True
    if text in {"f", "false", "0", "nein", "n", "no", "falsch", ""}:
        return False
    return None


def parse_datetime(value: Any, *, timezone: str = "UTC", fmt: str | None = None
                   ) -> datetime | None:
    """An aware datetime from ISO 8601 (or ``fmt``); naive values are in ``timezone``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            if fmt:
                parsed = datetime.strptime(text, fmt)
            else:
                text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET writes 7 fraction digits
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed.astimezone(UTC)


def valid_coordinates(lat: float | None, lon: float | None) -> bool:
    """Whether a WGS84 pair is usable (in range, and not the 0,0 placeholder)."""
    if lat is None or lon is None:
        return False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (lat == 0 and lon == 0)


def normalise_status(value: Any) -> str:
    """Map an opening or occupancy status word onto open, closed, full or unknown."""
    if value is None:
        return "unknown"
    text = str(value).strip().lower()
    if text in STATUSES:
        return text
    if text in {"spacesavailable", "almostfull", "offen", "geöffnet", "ok", "many", "few", "frei",
                "1", "active", "opened"}:
        return "open"
    if text in {"geschlossen", "closed", "0", "inactive", "closedabnormal", "shut"}:
        return "closed"
    if text in {"full", "voll", "besetzt", "noparkingspacesavailable", "overcrowded"}:
        return "full"
    return "unknown"


def normalise_trend(value: Any) -> str:
    """Map a trend (DATEX II ``parkingOccupancyTrend``, ParkAPI ``-1/0/1``) to our words."""
    if value is None:
        return "unknown"
    text = str(value).strip().lower()
    if text in TRENDS:
        return text
    return {"increasing": "increasing", "1": "increasing", "fillingup": "increasing",
            "-1": "decreasing", "emptying": "decreasing", "0": "stable",
            "constant": "stable"}.get(text, "unknown")
