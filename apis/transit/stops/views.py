"""Stops: search near a point, in a box or by name; one stop; its departures."""

from typing import Any

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.transit.stops.schemas import (
    DepartureBoardSchema,
    DepartureQuerySchema,
    StopPageSchema,
    StopQuerySchema,
    StopSchema,
)
from app.db import db
from app.live import get_redis
from providers.transit import queries

blp = ApiBlueprint("transit-stops", __name__, url_prefix="/transit/v1/stops",
                description="Stops, stations and their departures.")


@blp.route("")
class StopList(MethodView):
    @blp.arguments(StopQuerySchema, location="query")
    @blp.response(200, StopPageSchema)
    def get(self, args: dict[str, Any]):
        """List stops near lat,lon (sorted by distance in metres), in a bbox, or by name."""
        return queries.list_stops(db.session(), **args)


@blp.route("/<string:stop_id>")
class StopDetail(MethodView):
    @blp.response(200, StopSchema)
    def get(self, stop_id: str):
        """Get one stop by its id (``provider:stop_id``)."""
        return queries.get_stop(db.session(), stop_id)


@blp.route("/<string:stop_id>/departures")
class StopDepartures(MethodView):
    @blp.arguments(DepartureQuerySchema, location="query")
    @blp.response(200, DepartureBoardSchema)
    def get(self, args: dict[str, Any], stop_id: str):
        """Departures from a stop (a station includes its platforms), scheduled and real-time.

        Service days follow calendar.txt and calendar_dates.txt, trips after midnight of the
        previous service day and frequency-based trips are included; times are in the agency's
        time zone. Only where passengers can board: not a trip's last stop (it ends there) nor
        a stop time with no pickup (pickup_type 1).
        """
        return queries.departures(db.session(), get_redis(), stop_id, at=args.get("time"),
                                  window_minutes=args["window"], limit=args["limit"])
