"""Usage of your organisation's apps, as metered by the gateway."""

from flask.views import MethodView

from apis.account.usage.schemas import UsageQuerySchema, UsageReportSchema
from apis.blueprint import ApiBlueprint
from app.gateway.hook import authenticate
from billing.ledger import usage_report

blp = ApiBlueprint(
    "account-usage",
    __name__,
    url_prefix="/account/v1/usage",
    description="Metered calls of your organisation's apps, by hour or day.",
)


@blp.route("")
class UsageReport(MethodView):
    @blp.arguments(UsageQuerySchema, location="query")
    @blp.response(200, UsageReportSchema)
    def get(self, args):
        """Report your organisation's (or one of its apps') calls per period and product.

        Authenticate with any API key or access token of an app of the organisation.
        """
        identity = authenticate()
        return usage_report(identity.organisation_id, **args)
