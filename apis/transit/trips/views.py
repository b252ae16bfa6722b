"""Trips: the stop sequence of one run, with times and real-time estimates."""

from typing import Any

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.transit.trips.schemas import TripQuerySchema, TripSchema
from app.db import db
from app.live import get_redis
from providers.transit import queries

blp = ApiBlueprint("transit-trips", __name__, url_prefix="/transit/v1/trips",
                description="Trips and their stop times.")


@blp.route("/<string:trip_id>")
class TripDetail(MethodView):
    @blp.arguments(TripQuerySchema, location="query")
    @blp.response(200, TripSchema)
    def get(self, args: dict[str, Any], trip_id: str):
        """Get a trip's stops in order with scheduled times and real-time estimates."""
        return queries.get_trip(db.session(), get_redis(), trip_id,
                                service_date=args.get("date"))
