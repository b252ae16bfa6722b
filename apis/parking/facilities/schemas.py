"""Schemas of the facility resources."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from webargs.fields import DelimitedList

from providers.parking.records import KINDS


def parse_bbox(value: str) -> tuple[float, float, float, float]:
    """``min_lon,min_lat,max_lon,max_lat`` (RFC 7946 bbox order) as floats, validated."""
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        raise ma.ValidationError("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat") \
            from None
    if len(parts) != 4:
        raise ma.ValidationError("bbox must be four numbers: min_lon,min_lat,max_lon,max_lat")
    min_lon, min_lat, max_lon, max_lat = parts
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ma.ValidationError("bbox corners must be WGS84 with min < max")
    return parts  # type: ignore[return-value]


class BBoxField(ma.fields.String):
    """A bounding box in a query string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        return parse_bbox(super()._deserialize(value, attr, data, **kwargs))


class FacilitySearchQuerySchema(ma.Schema):
    """Filters of the facility search."""

    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90),
                          metadata={"description": "Latitude (WGS84) of the search centre"})
    lon = ma.fields.Float(validate=ma.validate.Range(-180, 180),
                          metadata={"description": "Longitude (WGS84) of the search centre"})
    radius = ma.fields.Float(load_default=1000.0, validate=ma.validate.Range(1, 50_000),
                             metadata={"description": "Search radius in metres (with lat/lon)"})
    bbox = BBoxField(metadata={"description": "min_lon,min_lat,max_lon,max_lat",
                               "example": "6.07,50.77,6.10,50.79"})
    kind = DelimitedList(ma.fields.String(validate=ma.validate.OneOf(KINDS)),
                         metadata={"description": "Comma-separated kinds"})
    provider = ma.fields.String(metadata={"description": "Only this provider (slug)"})
    min_free = ma.fields.Integer(validate=ma.validate.Range(min=0), metadata={
        "description": "Only facilities with at least this many free spaces in a live reading"})
    ev_charging = ma.fields.Boolean(metadata={"description": "Only facilities with (or without) "
                                              "EV charging"})
    open_at = ma.fields.AwareDateTime(metadata={
        "description": "Only facilities known to be open at this time (ISO 8601 with offset)"})
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))
    cursor = ma.fields.String(metadata={
        "description": "next_cursor of the previous page, sent with the same filters (another "
                       "filter is a 400 invalid-cursor)"})

    @ma.validates_schema
    def _near_needs_both(self, data: dict[str, Any], **_: Any) -> None:
        if ("lat" in data) != ("lon" in data):
            raise ma.ValidationError("lat and lon go together", field_name="lat")


class AvailabilitySchema(ma.Schema):
    """The newest reading; ``stale`` readings are older than the hub's threshold, not live."""

    free = ma.fields.Integer(allow_none=True)
    occupied = ma.fields.Integer(allow_none=True)
    capacity = ma.fields.Integer(allow_none=True)
    status = ma.fields.String(metadata={"description": "open, closed, full or unknown"})
    trend = ma.fields.String(metadata={"description": "increasing, decreasing, stable, unknown"})
    observed_at = ma.fields.String(metadata={"description": "When the provider observed it"})
    received_at = ma.fields.String(metadata={"description": "When the hub received it"})
    age_seconds = ma.fields.Integer()
    stale = ma.fields.Boolean()
    live = ma.fields.Boolean(metadata={"description": "True only for fresh readings"})


class LocationSchema(ma.Schema):
    """A WGS84 point."""

    lat = ma.fields.Float(required=True)
    lon = ma.fields.Float(required=True)


class FacilitySchema(ma.Schema):
    """A parking facility (APDS v4 Place)."""

    id = ma.fields.String(required=True, metadata={"example": "aachen:P1"})
    provider = ma.fields.String(required=True)
    source_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": ", ".join(KINDS)})
    structure_type = ma.fields.String(allow_none=True,
                                      metadata={"description": "APDS v4 StructureTypeEnum"})
    location = ma.fields.Nested(LocationSchema, required=True)
    address = ma.fields.String(allow_none=True)
    capacity = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(allow_none=True),
                              metadata={"description": "total and per category"})
    max_height_cm = ma.fields.Integer(allow_none=True)
    opening_hours = ma.fields.String(allow_none=True)
    ev_charging = ma.fields.Boolean()
    operator = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    availability = ma.fields.Nested(AvailabilitySchema, allow_none=True)
    has_tariff = ma.fields.Boolean()
    distance_m = ma.fields.Float(metadata={"description": "Geodesic distance (near searches)"})


class FacilityDetailSchema(FacilitySchema):
    """A facility with its outline, opening times, payment methods and tariff."""

    geometry = ma.fields.Dict(allow_none=True, metadata={"description": "GeoJSON outline"})
    opening_times = ma.fields.List(ma.fields.Dict(), allow_none=True)
    payment_methods = ma.fields.List(ma.fields.String())
    description = ma.fields.String(allow_none=True)
    tariff = ma.fields.Dict(allow_none=True, metadata={"description": "Structured tariff"})
    attributes = ma.fields.Dict()


class FacilityPageSchema(ma.Schema):
    """One page of facilities."""

    items = ma.fields.List(ma.fields.Nested(FacilitySchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class HistoryQuerySchema(ma.Schema):
    """Range and interval of an availability history."""

    from_ = ma.fields.AwareDateTime(data_key="from", metadata={
        "description": "Start (default: 24 hours ago)"})
    to = ma.fields.AwareDateTime(metadata={"description": "End (default: now)"})
    interval = ma.fields.Integer(load_default=900, validate=ma.validate.Range(60, 86_400 * 31),
                                 metadata={"description": "Bucket size in seconds"})


class HistoryBucketSchema(ma.Schema):
    """Readings in one interval."""

    start = ma.fields.String()
    end = ma.fields.String()
    samples = ma.fields.Integer()
    free_avg = ma.fields.Float(allow_none=True)
    free_min = ma.fields.Integer(allow_none=True)
    free_max = ma.fields.Integer(allow_none=True)
    occupied_avg = ma.fields.Float(allow_none=True)


class HistorySchema(ma.Schema):
    """Availability history of a facility."""

    facility_id = ma.fields.String()
    from_ = ma.fields.String(data_key="from")
    to = ma.fields.String()
    interval_seconds = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(HistoryBucketSchema))
