"""Live vehicle positions from GTFS-Realtime."""

from typing import Any

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.transit.vehicles.schemas import VehicleListSchema, VehicleQuerySchema
from app.db import db
from app.live import get_redis
from providers.transit import queries

blp = ApiBlueprint("transit-vehicles", __name__, url_prefix="/transit/v1/vehicles",
                description="Live vehicle positions.")


@blp.route("")
class VehicleList(MethodView):
    @blp.arguments(VehicleQuerySchema, location="query")
    @blp.response(200, VehicleListSchema)
    def get(self, args: dict[str, Any]):
        """List the vehicles' last reported positions, optionally inside a bbox."""
        return queries.list_vehicles(db.session(), get_redis(), bbox=args.get("bbox"))
