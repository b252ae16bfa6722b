"""Schemas of the product listing."""

import marshmallow as ma


class ProductSchema(ma.Schema):
    """A published API product."""

    slug = ma.fields.String(required=True, metadata={"example": "parking"})
    title = ma.fields.String(required=True)
    version = ma.fields.String(required=True, metadata={"example": "v1"})
    description = ma.fields.String(required=True)
    spec_url = ma.fields.String(required=True, metadata={"description": "OpenAPI document"})
    docs_url = ma.fields.String(required=True, metadata={"description": "Interactive reference"})


class ProductListSchema(ma.Schema):
    """Every product the hub publishes."""

    items = ma.fields.List(ma.fields.Nested(ProductSchema), required=True)
