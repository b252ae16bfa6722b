"""Parking zones at a point or in a box, and one zone."""

from __future__ import annotations

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.parking.output import (
    GEOJSON_DOC,
    feature_collection,
    page_response,
    wants_geojson,
    zone_item,
)
from apis.parking.zones.schemas import ZonePageSchema, ZoneQuerySchema, ZoneSchema
from app.db import get_db
from providers.parking.queries import get_zone, zones_at, zones_in_bbox

blp = ApiBlueprint("parking-zones", __name__, url_prefix="/parking/v1/zones",
                description="Parking zones and on-street segments with their rules.")


@blp.route("")
class ZoneList(MethodView):
    # An instance, not the class: webargs would build a new schema on every request.
    @blp.arguments(ZoneQuerySchema(), location="query")
    @blp.response(200, ZonePageSchema)
    @blp.doc(**GEOJSON_DOC)
    def get(self, args):
        """The zones at ``lat``/``lon`` (street segments nearest first), or those in ``bbox``."""
        session = get_db().session()
        if "bbox" in args:
            page = zones_in_bbox(session, args["bbox"], limit=args["limit"],
                                 cursor=args.get("cursor"))
        else:
            page = {"items": zones_at(session, args["lat"], args["lon"]), "next_cursor": None}
        if wants_geojson():
            return feature_collection(page["items"], next_cursor=page["next_cursor"])
        return page_response(page, zone_item)  # as ZonePageSchema dumps it


@blp.route("/<string:zone_id>")
class ZoneDetail(MethodView):
    @blp.response(200, ZoneSchema)
    def get(self, zone_id: str):
        """Get one zone (``<provider>:<id>``) with its geometry, rules and tariff."""
        return get_zone(get_db().session(), zone_id)
