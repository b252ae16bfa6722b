"""Routes of every onboarded transit agency."""

from typing import Any

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.transit.routes.schemas import RoutePageSchema, RouteQuerySchema, RouteSchema
from app.db import db
from providers.transit import queries

blp = ApiBlueprint("transit-routes", __name__, url_prefix="/transit/v1/routes",
                description="Routes (lines).")


@blp.route("")
class RouteList(MethodView):
    @blp.arguments(RouteQuerySchema, location="query")
    @blp.response(200, RoutePageSchema)
    def get(self, args: dict[str, Any]):
        """List routes, optionally of one GTFS route type."""
        return queries.list_routes(db.session(), route_type=args.get("type"),
                                   limit=args["limit"], cursor=args["cursor"])


@blp.route("/<string:route_id>")
class RouteDetail(MethodView):
    @blp.response(200, RouteSchema)
    def get(self, route_id: str):
        """Get one route by its id (``provider:route_id``) with its agency."""
        return queries.get_route(db.session(), route_id)
