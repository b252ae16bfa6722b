"""Parking facilities: search near a point or in a box, detail, availability history."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.parking.facilities.schemas import (
    FacilityDetailSchema,
    FacilityPageSchema,
    FacilitySearchQuerySchema,
    HistoryQuerySchema,
    HistorySchema,
)
from apis.parking.output import (
    GEOJSON_DOC,
    facility_item,
    feature_collection,
    now,
    page_response,
    stale_after,
    wants_geojson,
)
from app.db import get_db
from app.live import get_redis
from providers.parking.queries import (
    FacilitySearch,
    availability_history,
    get_facility,
    search_facilities,
)

blp = ApiBlueprint("parking-facilities", __name__, url_prefix="/parking/v1/facilities",
                description="Parking facilities with live availability.")


@blp.route("")
class FacilityList(MethodView):
    # An instance, not the class: webargs would build a new schema on every request.
    @blp.arguments(FacilitySearchQuerySchema(), location="query")
    @blp.response(200, FacilityPageSchema)
    @blp.doc(**GEOJSON_DOC)
    def get(self, args):
        """Search facilities.

        With ``lat``/``lon`` the results are those within ``radius`` metres, nearest first by
        geodesic distance; otherwise in a stable order. ``bbox``, ``kind``, ``provider``,
        ``ev_charging``, ``min_free`` (live readings only) and ``open_at`` narrow the search.
        Pages continue with ``cursor``. Send ``Accept: application/geo+json`` for GeoJSON.
        """
        search = FacilitySearch(
            lat=args.get("lat"), lon=args.get("lon"), radius=args["radius"],
            bbox=args.get("bbox"), kinds=args.get("kind") or (), provider=args.get("provider"),
            min_free=args.get("min_free"), ev_charging=args.get("ev_charging"),
            open_at=args.get("open_at"), limit=args["limit"], cursor=args.get("cursor"),
            now=now(), stale_after=stale_after())
        page = search_facilities(get_db().session(), get_redis(), search)
        if wants_geojson():
            return feature_collection(page["items"], next_cursor=page["next_cursor"])
        return page_response(page, facility_item)  # as FacilityPageSchema dumps it


@blp.route("/<string:facility_id>")
class FacilityDetail(MethodView):
    @blp.response(200, FacilityDetailSchema)
    @blp.doc(**GEOJSON_DOC)
    def get(self, facility_id: str):
        """Get one facility (``<provider>:<id>``) with current availability and tariff."""
        item = get_facility(get_db().session(), get_redis(), facility_id, now=now(),
                            stale_after=stale_after())
        if wants_geojson():
            return feature_collection([item])
        return item


@blp.route("/<string:facility_id>/availability")
class FacilityAvailability(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistorySchema)
    def get(self, args, facility_id: str):
        """Availability history of a facility, aggregated per ``interval`` seconds."""
        end = args.get("to") or now()
        start = args.get("from_") or end - timedelta(days=1)
        return availability_history(get_db().session(), facility_id, start=start, end=end,
                                    interval=timedelta(seconds=args["interval"]))
