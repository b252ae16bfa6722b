"""Schemas of routes."""

import marshmallow as ma

from apis.transit.common import PageQuerySchema


class RouteQuerySchema(PageQuerySchema):
    """Filters of the route list."""

    type = ma.fields.Integer(validate=ma.validate.Range(0, 1799),
                             metadata={"description": "GTFS route_type (3 = bus …)"})


class AgencySchema(ma.Schema):
    """The agency running a route."""

    name = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()


class RouteSchema(ma.Schema):
    """A route (a line as riders know it)."""

    id = ma.fields.String(required=True, metadata={"example": "caltrain:L1"})
    provider = ma.fields.String(required=True)
    route_id = ma.fields.String(required=True)
    agency_id = ma.fields.String(allow_none=True)
    short_name = ma.fields.String(allow_none=True)
    long_name = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    type = ma.fields.Integer(metadata={"description": "GTFS route_type"})
    url = ma.fields.String(allow_none=True)
    color = ma.fields.String(allow_none=True)
    text_color = ma.fields.String(allow_none=True)
    agency = ma.fields.Nested(AgencySchema, allow_none=True)


class RoutePageSchema(ma.Schema):
    """One page of routes."""

    items = ma.fields.List(ma.fields.Nested(RouteSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)
