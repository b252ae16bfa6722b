"""Price quotes."""

from __future__ import annotations

from flask.views import MethodView

from apis.blueprint import ApiBlueprint
from apis.parking.quote.schemas import QuoteQuerySchema, QuoteSchema
from app.db import get_db
from providers.parking.queries import price_quote

blp = ApiBlueprint("parking-quote", __name__, url_prefix="/parking/v1/quote",
                description="Prices of stays under published tariffs.")


@blp.route("")
class Quote(MethodView):
    @blp.arguments(QuoteQuerySchema, location="query")
    @blp.response(200, QuoteSchema)
    def get(self, args):
        """Price a stay at a ``facility`` or in a ``zone`` from ``start`` to ``end``."""
        return price_quote(get_db().session(), facility_id=args.get("facility"),
                           zone_id=args.get("zone"), start=args["start"], end=args["end"])
