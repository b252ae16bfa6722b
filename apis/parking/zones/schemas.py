"""Schemas of the zone resources."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from apis.parking.facilities.schemas import BBoxField


class ZoneQuerySchema(ma.Schema):
    """Either a point (the zones there) or a bbox (the zones in it)."""

    lat = ma.fields.Float(validate=ma.validate.Range(-90, 90))
    lon = ma.fields.Float(validate=ma.validate.Range(-180, 180))
    bbox = BBoxField(metadata={"description": "min_lon,min_lat,max_lon,max_lat"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))
    cursor = ma.fields.String(metadata={
        "description": "next_cursor of the previous page, sent with the same bbox (another is "
                       "a 400 invalid-cursor)"})

    @ma.validates_schema
    def _point_or_box(self, data: dict[str, Any], **_: Any) -> None:
        point = "lat" in data or "lon" in data
        if point and not ("lat" in data and "lon" in data):
            raise ma.ValidationError("lat and lon go together", field_name="lat")
        if point == ("bbox" in data):
            raise ma.ValidationError("give either lat and lon, or bbox", field_name="bbox")


class ZoneSchema(ma.Schema):
    """A zone: an area polygon or a street segment."""

    id = ma.fields.String(required=True)
    provider = ma.fields.String(required=True)
    source_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(metadata={"description": "area or segment"})
    geometry = ma.fields.Dict(required=True, metadata={"description": "GeoJSON geometry"})
    capacity = ma.fields.Integer(allow_none=True)
    rules = ma.fields.Dict()
    tariff = ma.fields.Dict(allow_none=True)
    distance_m = ma.fields.Float(metadata={"description": "Distance to a segment (point search)"})


class ZonePageSchema(ma.Schema):
    """Zones at a point or in a box."""

    items = ma.fields.List(ma.fields.Nested(ZoneSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)
