"""Apps and API keys of the caller's organisation.

Authenticate with any API key (``X-API-Key``) or OAuth2 access token (``Authorization:
Bearer``) of an app of the organisation. Ids of other organisations' apps and keys answer 404.
"""

from flask.views import MethodView

from apis.account.apps import service
from apis.account.apps.schemas import (
    ApiKeyCreateSchema,
    ApiKeyListSchema,
    ApiKeyRotateSchema,
    ApiKeySchema,
    AppListSchema,
    AppSchema,
    IssuedApiKeySchema,
)
from apis.blueprint import ApiBlueprint
from app.gateway.hook import authenticate

blp = ApiBlueprint(
    "account-apps",
    __name__,
    url_prefix="/account/v1/apps",
    description="Your organisation's apps and their API keys.",
)


@blp.route("")
class AppList(MethodView):
    @blp.response(200, AppListSchema)
    def get(self):
        """List your organisation's apps."""
        return {"items": service.list_apps(authenticate())}


@blp.route("/<int:app_id>")
class AppDetail(MethodView):
    @blp.response(200, AppSchema)
    def get(self, app_id: int):
        """Get one of your organisation's apps."""
        return service.get_app(authenticate(), app_id)


@blp.route("/<int:app_id>/keys")
class ApiKeyList(MethodView):
    @blp.response(200, ApiKeyListSchema)
    def get(self, app_id: int):
        """List an app's API keys (ids and metadata; secrets are never shown again)."""
        return {"items": service.list_keys(authenticate(), app_id)}

    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, IssuedApiKeySchema)
    def post(self, args, app_id: int):
        """Issue an API key for an app. The full key is in this response only: store it."""
        return service.create_key(authenticate(), app_id, **args)


@blp.route("/<int:app_id>/keys/<string:key_id>")
class ApiKeyDetail(MethodView):
    @blp.response(200, ApiKeySchema)
    def delete(self, app_id: int, key_id: str):
        """Revoke an API key now; every worker refuses it within seconds."""
        return service.revoke_key(authenticate(), app_id, key_id)


@blp.route("/<int:app_id>/keys/<string:key_id>/rotate")
class ApiKeyRotation(MethodView):
    @blp.arguments(ApiKeyRotateSchema)
    @blp.response(201, IssuedApiKeySchema)
    def post(self, args, app_id: int, key_id: str):
        """Issue a successor key; the old one keeps working until the overlap ends."""
        return service.rotate_key(authenticate(), app_id, key_id, args["overlap_seconds"])
