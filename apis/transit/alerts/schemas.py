"""Schemas of service alerts."""

import marshmallow as ma


class AlertQuerySchema(ma.Schema):
    """Filter alerts to one route or stop."""

    route = ma.fields.String(metadata={"description": "Route id (provider:route_id)"})
    stop = ma.fields.String(metadata={"description": "Stop id (provider:stop_id)"})


class PeriodSchema(ma.Schema):
    """When an alert applies (ISO 8601; open ends are null)."""

    start = ma.fields.String(allow_none=True)
    end = ma.fields.String(allow_none=True)


class InformedSchema(ma.Schema):
    """What an alert is about."""

    agency_id = ma.fields.String(allow_none=True)
    route_id = ma.fields.String(allow_none=True)
    stop_id = ma.fields.String(allow_none=True)
    trip_id = ma.fields.String(allow_none=True)


class AlertSchema(ma.Schema):
    """A service alert."""

    id = ma.fields.String(required=True)
    provider = ma.fields.String()
    cause = ma.fields.String(allow_none=True)
    effect = ma.fields.String(allow_none=True)
    header = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)
    active_periods = ma.fields.List(ma.fields.Nested(PeriodSchema))
    informed = ma.fields.List(ma.fields.Nested(InformedSchema))


class AlertListSchema(ma.Schema):
    """Active alerts."""

    items = ma.fields.List(ma.fields.Nested(AlertSchema), required=True)
