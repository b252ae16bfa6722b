"""Schemas of the quote resource."""

import marshmallow as ma


class QuoteQuerySchema(ma.Schema):
    """What to price: one facility or zone, from start to end."""

    facility = ma.fields.String(metadata={"description": "Facility id (<provider>:<id>)"})
    zone = ma.fields.String(metadata={"description": "Zone id (<provider>:<id>)"})
    start = ma.fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    end = ma.fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})


class QuoteLineSchema(ma.Schema):
    """Periods charged in one band within one 24-hour window of the stay."""

    band = ma.fields.Integer()
    window = ma.fields.Integer()
    from_ = ma.fields.String(data_key="from")
    periods = ma.fields.Integer()
    period_minutes = ma.fields.Integer()
    amount = ma.fields.Integer()


class QuoteSchema(ma.Schema):
    """The price of a stay, in minor units of an ISO 4217 currency."""

    facility = ma.fields.String()
    zone = ma.fields.String()
    amount = ma.fields.Integer(required=True, metadata={"example": 450})
    currency = ma.fields.String(required=True, metadata={"example": "EUR"})
    start = ma.fields.String()
    end = ma.fields.String()
    free_minutes = ma.fields.Integer()
    daily_max = ma.fields.Integer(allow_none=True)
    capped = ma.fields.Boolean(metadata={"description": "Whether a daily maximum applied"})
    lines = ma.fields.List(ma.fields.Nested(QuoteLineSchema))
