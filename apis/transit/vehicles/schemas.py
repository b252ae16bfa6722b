"""Schemas of live vehicle positions."""

import marshmallow as ma

from apis.transit.common import BBOX_DESCRIPTION, BoundingBox, PointSchema


class VehicleQuerySchema(ma.Schema):
    """Filter vehicles to a box."""

    bbox = BoundingBox(metadata={"description": BBOX_DESCRIPTION})


class VehicleSchema(ma.Schema):
    """A vehicle's last reported position."""

    id = ma.fields.String(required=True)
    provider = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    trip = ma.fields.String(allow_none=True)
    route = ma.fields.String(allow_none=True)
    location = ma.fields.Nested(PointSchema)
    bearing = ma.fields.Float(allow_none=True, metadata={"description": "Degrees from north"})
    speed = ma.fields.Float(allow_none=True, metadata={"description": "Metres per second"})
    current_status = ma.fields.String(allow_none=True)
    occupancy_status = ma.fields.String(allow_none=True)
    timestamp = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601"})


class VehicleListSchema(ma.Schema):
    """Live vehicles."""

    items = ma.fields.List(ma.fields.Nested(VehicleSchema), required=True)
