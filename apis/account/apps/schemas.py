"""Schemas of apps and API keys."""

import marshmallow as ma

SCOPES = ["parking:read", "transit:read"]


class AppSchema(ma.Schema):
    """An app of your organisation."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    organisation_id = ma.fields.Integer(required=True)
    organisation = ma.fields.String(required=True, metadata={"description": "Its name"})
    environment = ma.fields.String(
        required=True, metadata={"description": "live, or test (sandbox: mob_test_ keys)"})
    client_type = ma.fields.String(required=True, metadata={"description": "confidential|public"})
    redirect_uris = ma.fields.List(ma.fields.String(), required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class AppListSchema(ma.Schema):
    """The apps of your organisation."""

    items = ma.fields.List(ma.fields.Nested(AppSchema), required=True)


class ApiKeySchema(ma.Schema):
    """An API key's metadata; the secret is never shown again after creation."""

    key_id = ma.fields.String(required=True, metadata={"example": "mob_live_3hT9xQ2a"})
    app_id = ma.fields.Integer(required=True)
    environment = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True,
                            metadata={"description": "Empty: every subscribed product's scope"})
    status = ma.fields.String(required=True, metadata={"description": "active|expired|revoked"})
    created_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    last_used_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "Updated at most once a minute"})
    replaces_key_id = ma.fields.String(allow_none=True)


class ApiKeyListSchema(ma.Schema):
    """An app's API keys."""

    items = ma.fields.List(ma.fields.Nested(ApiKeySchema), required=True)


class IssuedApiKeySchema(ApiKeySchema):
    """A key just issued, with the full key: shown this once, store it now."""

    key = ma.fields.String(required=True, metadata={"description": "Send it in X-API-Key"})


class ApiKeyCreateSchema(ma.Schema):
    """What the new key looks like."""

    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    scopes = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(SCOPES)),
                            load_default=list)
    expires_at = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "ISO 8601 with offset; none: no expiry"})


class ApiKeyRotateSchema(ma.Schema):
    """How long the old key keeps working."""

    overlap_seconds = ma.fields.Integer(
        load_default=86_400, validate=ma.validate.Range(min=0, max=30 * 86_400))
