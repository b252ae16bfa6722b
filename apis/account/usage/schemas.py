"""Schemas of the usage report."""

import marshmallow as ma


class UsageQuerySchema(ma.Schema):
    """Which usage to report."""

    granularity = ma.fields.String(
        load_default="day", validate=ma.validate.OneOf(["hour", "day"]),
        metadata={"description": "Period of each item (UTC hours or days)"})
    app_id = ma.fields.Integer(
        load_default=None, metadata={"description": "One app of your organisation; all if absent"})
    start = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "ISO 8601 with offset; default: 30 days "
                                                    "(day) or 24 hours (hour) before end"})
    end = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "ISO 8601 with offset (exclusive); "
                                                    "default: now"})


class UsageItemSchema(ma.Schema):
    """Calls of one app to one product in one period."""

    period_start = ma.fields.AwareDateTime(required=True)
    app_id = ma.fields.Integer(required=True)
    product = ma.fields.String(required=True, metadata={"example": "parking"})
    admitted = ma.fields.Integer(required=True, metadata={"description": "Calls served (billed)"})
    rejected = ma.fields.Integer(
        required=True, metadata={"description": "Calls refused (429, 403); never billed"})
    status_classes = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
        metadata={"description": "Admitted calls per response status class (2xx … 5xx)",
                  "example": {"2xx": 120, "4xx": 3}})


class UsageReportSchema(ma.Schema):
    """Usage of the caller's organisation, recorded up to the last meter flush."""

    organisation_id = ma.fields.Integer(required=True)
    granularity = ma.fields.String(required=True)
    start = ma.fields.AwareDateTime(required=True)
    end = ma.fields.AwareDateTime(required=True)
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True,
                            metadata={"example": {"admitted": 123, "rejected": 4}})
    items = ma.fields.List(ma.fields.Nested(UsageItemSchema), required=True)
