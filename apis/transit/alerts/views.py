"""Service alerts from GTFS-Realtime."""

from typing import Any

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.transit.alerts.schemas import AlertListSchema, AlertQuerySchema
from app.db import db
from app.live import get_redis
from providers.transit import queries

blp = ApiBlueprint("transit-alerts", __name__, url_prefix="/transit/v1/alerts",
                description="Service alerts.")


@blp.route("")
class AlertList(MethodView):
    @blp.arguments(AlertQuerySchema, location="query")
    @blp.response(200, AlertListSchema)
    def get(self, args: dict[str, Any]):
        """List the alerts active now, optionally about one route or stop."""
        return queries.list_alerts(db.session(), get_redis(), route=args.get("route"),
                                   stop=args.get("stop"))
