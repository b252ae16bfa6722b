"""Declarative field mappings: how a city's GeoJSON, JSON or CSV becomes parking records.

A mapping (YAML or JSON, passed with ``mobihub feeds import --mapping FILE``) names where each
canonical field comes from, so a new city is onboarded with a file, not with code::

    record_type: facility        # or: zone
    records: lots                # JSON only: dotted path to the list of records
    crs: EPSG:25832              # coordinates' CRS (GeoJSON's own ``crs`` member otherwise)
    timezone: Europe/Berlin      # for times without a UTC offset
    fields:
      source_id: park_id
      name: park_name
      capacity: obs_max
      free: obs_free
      observed_at: {field: obs_ts, format: "%Y-%m-%d %H:%M:%S"}
      kind: {field: typ, values: {P: surface_lot, PH: garage}, default: other}
      address: [street, postcode, city]      # a list joins the non-empty values
      tariff_text: feeInformation            # a price text, parsed (providers.parking.tariff_text)
      tariff_price_list: {entries: prices.value, day_start: dayStart.value,
                          day_end: dayEnd.value, max_per_24h: priceModelValidFor24h.value}

A field spec is a dotted path, a list of paths (joined), or an object with ``field`` or
``first`` (first non-empty path) or ``const``, plus ``values`` (a lookup table), ``default``,
``scale`` (numbers) and ``format`` (times). In GeoJSON, paths read the feature's
``properties``; ``@id`` reads the feature's own id; ``$.path`` reads the whole document
(a publication time given once for all records). See docs/parking.md and docs/mappings/.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pyproj
import shapely
from shapely.geometry import mapping as to_geojson
from shapely.geometry import shape

from providers.base import FeedFormatError, ValidationReport
from providers.parking.hours import parse_opening_hours
from providers.parking.records import (
    CAPACITY_CATEGORIES,
    KINDS,
    AvailabilityRecord,
    FacilityRecord,
    ZoneRecord,
    normalise_kind,
    normalise_status,
    normalise_trend,
    parse_bool,
    parse_datetime,
    parse_float,
    parse_int,
    valid_coordinates,
)
from providers.parking.tariff import Tariff, TariffError
from providers.parking.tariff_text import TariffTextError, parse_price_list, parse_tariff_text

TEXT_FIELDS = ("source_id", "name", "address", "operator", "url", "description",
               "opening_hours", "wkt")
FACILITY_FIELDS = {
    *TEXT_FIELDS, "kind", "capacity", "max_height", "max_height_cm", "ev_charging",
    "payment_methods", "free", "occupied", "status", "trend", "observed_at", "lat", "lon",
    "tariff", "tariff_text", "tariff_price_list", "attributes",
    *(f"capacity_{c}" for c in CAPACITY_CATEGORIES),
}
ZONE_FIELDS = {"source_id", "name", "kind", "capacity", "wkt", "tariff", "tariff_text", "rules",
               "segment_width"}
# Groups of named specs (name -> spec); ``None`` allows any name.
GROUPS: dict[str, set[str] | None] = {
    "attributes": None, "rules": None,
    "tariff_price_list": {"entries", "day_start", "day_end", "max_per_24h"},
}
TOP_LEVEL = {"record_type", "records", "crs", "timezone", "fields", "realtime", "delimiter",
             "encoding"}
WGS84_NAMES = {"EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84",
               "OGC:CRS84", "CRS84", "WGS84"}
SPEC_KEYS = {"field", "first", "const", "values", "default", "scale", "format"}


def _mapping_error(message: str) -> FeedFormatError:
    return FeedFormatError(f"Invalid mapping: {message}", code="invalid_mapping")


@dataclass
class FieldMapping:
    """A validated mapping, turning raw records into canonical ones."""

    spec: dict[str, Any]

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, required: bool,
                    defaults: dict[str, Any] | None = None) -> FieldMapping:
        """Validate ``config["mapping"]``; without one use ``defaults`` unless ``required``."""
        raw = config.get("mapping")
        if raw is None:
            if required:
                raise FeedFormatError("This format needs a field mapping (--mapping FILE): "
                                      "see docs/parking.md.", code="mapping_required")
            raw = {"fields": defaults or {}}
        if not isinstance(raw, Mapping):
            raise _mapping_error("it must be an object")
        unknown = set(raw) - TOP_LEVEL
        if unknown:
            raise _mapping_error(f"unknown keys {sorted(unknown)}; allowed: {sorted(TOP_LEVEL)}")
        record_type = raw.get("record_type", "facility")
        if record_type not in ("facility", "zone"):
            raise _mapping_error("record_type must be 'facility' or 'zone'")
        fields = raw.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise _mapping_error("'fields' must be an object")
        allowed = FACILITY_FIELDS if record_type == "facility" else ZONE_FIELDS
        unknown = set(fields) - allowed
        if unknown:
            raise _mapping_error(f"unknown fields {sorted(unknown)} for {record_type} records; "
                                 f"allowed: {sorted(allowed)}")
        for name, value in fields.items():
            if name in GROUPS:
                if not isinstance(value, Mapping):
                    raise _mapping_error(f"'{name}' must map names to field specs")
                names = GROUPS[name]
                if names is not None and (set(value) - names or "entries" not in value):
                    raise _mapping_error(f"'{name}' takes 'entries' and optionally "
                                         f"{sorted(names - {'entries'})}")
                for sub, sub_spec in value.items():
                    _check_spec(f"{name}.{sub}", sub_spec)
            else:
                _check_spec(name, value)
        for crs_name in filter(None, [raw.get("crs")]):
            try:
                pyproj.CRS.from_user_input(crs_name)
            except pyproj.exceptions.CRSError:
                raise _mapping_error(f"unknown crs {crs_name!r}") from None
        return cls(dict(raw))

    @property
    def record_type(self) -> str:
        return self.spec.get("record_type", "facility")

    @property
    def realtime(self) -> bool:
        return bool(self.spec.get("realtime"))

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.spec.get("fields") or {}

    @property
    def timezone(self) -> str:
        return str(self.spec.get("timezone") or "Europe/Berlin")

    def has(self, name: str) -> bool:
        """Whether the mapping names a source for ``name``."""
        return name in self.fields

    @cached_property
    def _transformers(self) -> dict[str, Callable[..., Any] | None]:
        return {}

    def to_wgs84(self, crs: str | None) -> Callable[..., Any] | None:
        """A coordinate transform from ``crs`` (mapping first) to WGS84, or None if already."""
        name = self.spec.get("crs") or crs
        if not name or name in WGS84_NAMES:
            return None
        if name not in self._transformers:
            try:
                source = pyproj.CRS.from_user_input(name)
            except pyproj.exceptions.CRSError:
                raise FeedFormatError(f"Unknown coordinate reference system {name!r}.",
                                      code="unknown_crs") from None
            if source.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
                self._transformers[name] = None
            else:
                self._transformers[name] = pyproj.Transformer.from_crs(
                    source, "EPSG:4326", always_xy=True).transform
        return self._transformers[name]

    # --- records ------------------------------------------------------------------------------

    def value(self, name: str, record: Mapping[str, Any], feature: Mapping[str, Any] | None = None
              ) -> Any:
        """The raw value of canonical field ``name`` in ``record``."""
        spec = self.fields.get(name)
        return None if spec is None else resolve(spec, record, feature)

    def build(self, record: Mapping[str, Any], *, geometry: dict[str, Any] | None,
              crs: str | None, report: ValidationReport, where: dict[str, Any],
              feature: Mapping[str, Any] | None = None
              ) -> FacilityRecord | ZoneRecord | AvailabilityRecord | None:
        """Turn one raw record into a canonical record; report and return None if unusable."""
        def get(name: str) -> Any:
            if name.endswith(".*"):  # a group of named specs: attributes, rules
                group = self.fields.get(name[:-2]) or {}
                return {key: value for key, spec in group.items()
                        if (value := resolve(spec, record, feature)) not in (None, "")}
            return self.value(name, record, feature)

        source_id = _text(get("source_id"))
        if source_id is None and feature is not None and feature.get("id") is not None:
            source_id = str(feature["id"])
        if source_id is None:
            report.error("missing_id", "A record has no id (mapping field 'source_id'); it is "
                         "skipped.", **where)
            return None
        where = {**where, "value": source_id}
        if self.realtime:
            return self._reading(source_id, get, report, where)
        shape_ = self._geometry(get, geometry, crs, report, where)
        if shape_ is None:
            return None
        if self.record_type == "zone":
            return self._zone(source_id, get, shape_, report, where)
        return self._facility(source_id, get, shape_, report, where)

    def _geometry(self, get: Callable[[str], Any], geometry: dict[str, Any] | None,
                  crs: str | None, report: ValidationReport, where: dict[str, Any]) -> Any:
        try:
            if self.has("wkt"):
                wkt = _text(get("wkt"))
                geom = shapely.from_wkt(wkt) if wkt else None
            elif self.has("lat") and self.has("lon"):
                lat, lon = parse_float(get("lat")), parse_float(get("lon"))
                geom = shapely.Point(lon, lat) if lat is not None and lon is not None else None
            elif geometry:
                geom = shape(geometry)
            else:
                geom = None
        except (shapely.errors.GEOSException, ValueError, TypeError, AttributeError,
                KeyError) as exc:
            report.error("invalid_geometry", f"Unreadable geometry: {exc}", **where)
            return None
        if geom is None or geom.is_empty:
            report.error("missing_coordinates", "The record has no coordinates; it is skipped.",
                         **where)
            return None
        project = self.to_wgs84(crs)
        if project is not None:
            geom = shapely.transform(geom, project, interleaved=False)
        minx, miny, maxx, maxy = geom.bounds
        if not (valid_coordinates(miny, minx) and valid_coordinates(maxy, maxx)):
            report.error("coordinates_out_of_range", "Coordinates are not valid WGS84 after "
                         f"reprojection ({miny:.5f}, {minx:.5f}); check the mapping's crs.",
                         **where)
            return None
        return geom

    def _facility(self, source_id: str, get: Callable[[str], Any], geom: Any,
                  report: ValidationReport, where: dict[str, Any]) -> FacilityRecord:
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        kind_raw = get("kind")
        kind = kind_raw if kind_raw in KINDS else normalise_kind(kind_raw)
        if kind_raw not in (None, "") and kind == "other" and kind_raw != "other":
            report.warning("unknown_kind", f"Kind {kind_raw!r} is not known; 'other' is used.",
                           field="kind", **where)
        categories = {}
        for category in CAPACITY_CATEGORIES:
            count = parse_int(get(f"capacity_{category}"))
            if count is not None and count > 0:
                categories[category] = count
        height_cm = parse_int(get("max_height_cm"))
        height_m = parse_float(get("max_height"))
        if height_cm is None and height_m is not None and height_m > 0:
            height_cm = round(height_m * 100)
        hours = _text(get("opening_hours"))
        ev = parse_bool(get("ev_charging"))
        attributes = self._nested("attributes", get)
        tariff = _tariff(get("tariff"), report, where)
        if tariff is None:
            tariff = self._stated_tariff(get, attributes, report, where)
        record = FacilityRecord(
            source_id=source_id, name=_text(get("name")) or source_id,
            lat=point.y, lon=point.x, kind=kind,
            geometry=None if geom.geom_type == "Point" else to_geojson(geom),
            address=_text(get("address")), capacity=parse_int(get("capacity")),
            capacity_by_category=categories, max_height_cm=height_cm,
            opening_hours=hours, opening_times=parse_opening_hours(hours),
            payment_methods=_list(get("payment_methods")), operator=_text(get("operator")),
            url=_text(get("url")), description=_text(get("description")),
            ev_charging=bool(ev) or "ev_charging" in categories,
            tariff=tariff, attributes=attributes,
        )
        if any(self.has(n) for n in ("free", "occupied", "status")):
            record.availability = self._reading(source_id, get, report, where)
        return record

    def _zone(self, source_id: str, get: Callable[[str], Any], geom: Any,
              report: ValidationReport, where: dict[str, Any]) -> ZoneRecord | None:
        if geom.geom_type not in ("Polygon", "MultiPolygon", "LineString", "MultiLineString"):
            report.error("invalid_geometry", f"A zone must be a polygon or a street segment, "
                         f"not a {geom.geom_type}.", **where)
            return None
        segment = geom.geom_type.endswith("LineString")
        rules = self._nested("rules", get)
        width = parse_float(get("segment_width"))
        if segment:
            rules.setdefault("segment_width_m", width or 10.0)
        tariff = _tariff(get("tariff"), report, where)
        if tariff is None:
            tariff = self._stated_tariff(get, rules, report, where)
        return ZoneRecord(source_id=source_id, name=_text(get("name")) or source_id,
                          geometry=to_geojson(geom),
                          kind=_text(get("kind")) or ("segment" if segment else "area"),
                          capacity=parse_int(get("capacity")), rules=rules, tariff=tariff)

    def _stated_tariff(self, get: Callable[[str], Any], raw: dict[str, Any],
                       report: ValidationReport, where: dict[str, Any]) -> dict[str, Any] | None:
        """The tariff a price text or price list states; the raw source is kept in ``raw``."""
        text = _text(get("tariff_text")) if self.has("tariff_text") else None
        group = self._nested("tariff_price_list", get) if self.has("tariff_price_list") else {}
        try:
            if text is not None:
                raw["tariff_text"] = text
                return parse_tariff_text(text, timezone=self.timezone)
            if group.get("entries"):
                raw["tariff_price_list"] = group
                return parse_price_list(
                    group["entries"], day_start=group.get("day_start"),
                    day_end=group.get("day_end"), max_per_24h=group.get("max_per_24h"),
                    timezone=self.timezone)
        except TariffTextError as exc:
            report.warning("tariff_not_understood", f"The stated tariff is not understood "
                           f"({exc}); the raw text is kept and no structured tariff is "
                           "stored.", field="tariff_text" if text is not None
                           else "tariff_price_list", **where)
        return None

    def _reading(self, source_id: str, get: Callable[[str], Any], report: ValidationReport,
                 where: dict[str, Any]) -> AvailabilityRecord | None:
        free, occupied = parse_int(get("free")), parse_int(get("occupied"))
        if free is None and occupied is None:
            return None  # this record carries no reading
        fmt = self.fields.get("observed_at")
        fmt = fmt.get("format") if isinstance(fmt, Mapping) else None
        observed = parse_datetime(get("observed_at"), timezone=self.timezone, fmt=fmt)
        if observed is None:
            report.warning("missing_observed_time", "A reading has no usable observation time; "
                           "it is not stored.", field="observed_at", **where)
            return None
        capacity = parse_int(get("capacity"))
        if free is None and occupied is not None and capacity is not None:
            free = max(capacity - occupied, 0)
        if occupied is None and free is not None and capacity is not None:
            occupied = max(capacity - free, 0)
        status = normalise_status(get("status"))
        if status == "unknown" and free is not None:
            status = "full" if free == 0 else "open"
        return AvailabilityRecord(source_id=source_id, observed_at=observed, free=free,
                                  occupied=occupied, capacity=capacity, status=status,
                                  trend=normalise_trend(get("trend")))

    def _nested(self, name: str, get: Callable[[str], Any]) -> dict[str, Any]:
        return dict(get(f"{name}.*") or {})


def _tariff(value: Any, report: ValidationReport, where: dict[str, Any]) -> dict[str, Any] | None:
    # A tariff is a structured document (providers.parking.tariff); CSV cells hold it as JSON.
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            report.warning("invalid_tariff", f"The tariff is not JSON ({exc.msg}); the record "
                           "is kept without it.", field="tariff", **where)
            return None
    try:
        Tariff.from_dict(value)
    except TariffError as exc:
        report.warning("invalid_tariff", f"The tariff is invalid ({exc}); the record is kept "
                       "without it.", field="tariff", **where)
        return None
    return dict(value)


def _check_spec(name: str, spec: Any) -> None:
    if isinstance(spec, str):
        return
    if isinstance(spec, list) and all(isinstance(p, str) for p in spec):
        return
    if isinstance(spec, Mapping):
        unknown = set(spec) - SPEC_KEYS
        if unknown:
            raise _mapping_error(f"field {name!r}: unknown keys {sorted(unknown)}; allowed: "
                                 f"{sorted(SPEC_KEYS)}")
        if not ({"field", "first", "const"} & set(spec)):
            raise _mapping_error(f"field {name!r} needs 'field', 'first' or 'const'")
        return
    raise _mapping_error(f"field {name!r} must be a path, a list of paths or an object")


def lookup(record: Any, path: str, feature: Mapping[str, Any] | None = None) -> Any:
    """The value at dotted ``path`` (``@`` reads the GeoJSON feature, ``$.`` the document)."""
    node: Any = record
    if path.startswith("@"):
        node, path = feature or {}, path[1:]
    elif path.startswith("$."):
        node, path = (feature or {}).get("$document") or {}, path[2:]
    if isinstance(node, Mapping) and path in node:
        return node[path]  # keys may contain dots or colons ("total:disabled")
    for part in path.split("."):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def resolve(spec: Any, record: Mapping[str, Any], feature: Mapping[str, Any] | None = None
            ) -> Any:
    """Apply one field spec to a record."""
    if isinstance(spec, str):
        return _blank_to_none(lookup(record, spec, feature))
    if isinstance(spec, list):
        parts = [str(v).strip() for p in spec
                 if (v := _blank_to_none(lookup(record, p, feature))) is not None]
        return ", ".join(p for p in parts if p) or None
    if "const" in spec:
        return spec["const"]
    if "first" in spec:
        value = next((v for p in spec["first"]
                      if (v := _blank_to_none(lookup(record, p, feature))) is not None), None)
    else:
        value = _blank_to_none(lookup(record, spec["field"], feature))
    if "values" in spec and value is not None:
        table = spec["values"]
        key = str(value).strip()
        value = table.get(key, table.get(key.lower(), spec.get("default", value)))
    if value is None:
        value = spec.get("default")
    if "scale" in spec and value is not None:
        number = parse_float(value)
        value = None if number is None else number * float(spec["scale"])
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("de") or value.get("en") or next(iter(value.values()), None)
        if value is None:
            return None
    text = str(value).strip()
    return text or None


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in str(value).replace(";", ",").split(",") if p.strip()]
