"""Schemas of stops and departures."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from apis.transit.common import BBOX_DESCRIPTION, BoundingBox, PageQuerySchema, PointSchema


class StopQuerySchema(PageQuerySchema):
    """Filters of the stop list: near a point, in a box, by name."""

    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90),
                          metadata={"description": "Latitude of the point to search near"})
    lon = ma.fields.Float(validate=ma.validate.Range(-180, 180),
                          metadata={"description": "Longitude of the point to search near"})
    radius = ma.fields.Float(load_default=500.0, validate=ma.validate.Range(1, 10_000),
                             metadata={"description": "Search radius in metres"})
    bbox = BoundingBox(metadata={"description": BBOX_DESCRIPTION})
    q = ma.fields.String(validate=ma.validate.Length(1, 100),
                         metadata={"description": "Part of the stop name, in any case"})

    @ma.validates_schema
    def _point_needs_both(self, data: dict[str, Any], **_: Any) -> None:
        if ("lat" in data) != ("lon" in data):
            raise ma.ValidationError("Give both lat and lon, or neither.", "lat")


class StopSchema(ma.Schema):
    """A stop, station or entrance."""

    id = ma.fields.String(required=True, metadata={"example": "caltrain:70011"})
    provider = ma.fields.String(required=True)
    stop_id = ma.fields.String(required=True, metadata={"description": "The GTFS stop_id"})
    code = ma.fields.String(allow_none=True)
    name = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    location_type = ma.fields.String(metadata={
        "description": "stop, station, entrance, node or boarding_area"})
    parent_station = ma.fields.String(allow_none=True)
    platform_code = ma.fields.String(allow_none=True)
    wheelchair_boarding = ma.fields.Integer(allow_none=True)
    location = ma.fields.Nested(PointSchema, allow_none=True)
    distance = ma.fields.Float(metadata={"description": "Metres from the search point"})


class StopPageSchema(ma.Schema):
    """One page of stops."""

    items = ma.fields.List(ma.fields.Nested(StopSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


class DepartureQuerySchema(ma.Schema):
    """When and how many departures."""

    time = ma.fields.DateTime(metadata={
        "description": "ISO 8601 time to list departures from (default now); without an "
                       "offset it is the agency's local time"})
    window = ma.fields.Integer(load_default=60, validate=ma.validate.Range(1, 1440),
                              metadata={"description": "Minutes after time"})
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))


class RouteRefSchema(ma.Schema):
    """The route of a departure."""

    id = ma.fields.String()
    short_name = ma.fields.String(allow_none=True)
    long_name = ma.fields.String(allow_none=True)
    type = ma.fields.Integer(metadata={"description": "GTFS route_type"})
    color = ma.fields.String(allow_none=True)


class DepartureSchema(ma.Schema):
    """One departure of a trip from the stop."""

    trip_id = ma.fields.String()
    trip = ma.fields.String(metadata={"description": "Public trip id"})
    stop = ma.fields.String(metadata={"description": "The stop or platform departed from"})
    stop_sequence = ma.fields.Integer()
    service_date = ma.fields.String(metadata={"description": "Service day, YYYY-MM-DD"})
    route = ma.fields.Nested(RouteRefSchema)
    headsign = ma.fields.String(allow_none=True)
    scheduled = ma.fields.String(metadata={"description": "ISO 8601, agency time zone"})
    estimated = ma.fields.String(allow_none=True, metadata={
        "description": "Real-time estimate (ISO 8601), when known"})
    delay = ma.fields.Integer(allow_none=True, metadata={"description": "Seconds late"})
    cancelled = ma.fields.Boolean()
    realtime = ma.fields.Boolean(metadata={"description": "Whether real-time data applies"})


class DepartureBoardSchema(ma.Schema):
    """Departures from a stop."""

    stop = ma.fields.Nested(StopSchema)
    time = ma.fields.String(metadata={"description": "The time asked for, agency time zone"})
    timezone = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(DepartureSchema), required=True)
