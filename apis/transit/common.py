"""Schemas shared by the transit resources: GeoJSON points, pages, boxes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma


class PointSchema(ma.Schema):
    """A GeoJSON Point (RFC 7946): coordinates are [longitude, latitude] in WGS84."""

    type = ma.fields.String(required=True, metadata={"example": "Point"})
    coordinates = ma.fields.List(ma.fields.Float(), required=True,
                                 metadata={"example": [-122.4, 37.79]})


BBOX_DESCRIPTION = ("minLon,minLat,maxLon,maxLat in WGS84 degrees; minLon > maxLon crosses the "
                    "antimeridian (RFC 7946 section 5.2)")


class BoundingBox(ma.fields.String):
    """``minLon,minLat,maxLon,maxLat`` in WGS84 degrees (the GeoJSON bbox order).

    As in RFC 7946 section 5.2, a box whose west edge (minLon) is east of its east edge
    (maxLon) crosses the antimeridian; its south edge must not be north of its north edge.
    """

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any
                     ) -> tuple[float, float, float, float]:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = tuple(float(p) for p in text.split(","))
        except ValueError:
            parts = ()
        if len(parts) != 4:
            raise ma.ValidationError("bbox is minLon,minLat,maxLon,maxLat (four numbers).")
        min_lon, min_lat, max_lon, max_lat = parts
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180
                and -90 <= min_lat <= max_lat <= 90):
            raise ma.ValidationError("bbox corners must be WGS84 degrees with minLat <= maxLat "
                                     "(minLon > maxLon crosses the antimeridian).")
        return parts  # type: ignore[return-value]


class PageQuerySchema(ma.Schema):
    """Cursor pagination: pass ``next_cursor`` of one page to get the next."""

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, 200))
    cursor = ma.fields.String(load_default=None, metadata={
        "description": "Opaque cursor from the previous page's next_cursor, sent with the "
                       "same filters (another filter is a 400 invalid-cursor)."})
