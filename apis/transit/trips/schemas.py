"""Schemas of trips."""

import marshmallow as ma

from apis.transit.routes.schemas import RouteSchema


class TripQuerySchema(ma.Schema):
    """Which service day to show the trip on."""

    date = ma.fields.Date(metadata={"description": "Service date (default: today, agency "
                                                   "time zone)"})


class TripStopSchema(ma.Schema):
    """One stop of the trip with its times."""

    stop = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    stop_sequence = ma.fields.Integer()
    arrival = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601"})
    departure = ma.fields.String(allow_none=True, metadata={"description": "ISO 8601"})
    estimated_departure = ma.fields.String(allow_none=True)
    delay = ma.fields.Integer(allow_none=True, metadata={"description": "Seconds late"})
    cancelled = ma.fields.Boolean()


class TripSchema(ma.Schema):
    """A trip: one run of a vehicle along a route."""

    id = ma.fields.String(required=True)
    provider = ma.fields.String()
    trip_id = ma.fields.String()
    route = ma.fields.Nested(RouteSchema, allow_none=True)
    headsign = ma.fields.String(allow_none=True)
    direction_id = ma.fields.Integer(allow_none=True)
    service_date = ma.fields.String(metadata={"description": "Service day, YYYY-MM-DD"})
    runs_on_service_date = ma.fields.Boolean()
    frequency_based = ma.fields.Boolean()
    realtime = ma.fields.Boolean()
    stops = ma.fields.List(ma.fields.Nested(TripStopSchema))
