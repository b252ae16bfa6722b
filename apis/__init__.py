"""The published API products: one flask-smorest ``Api`` (and one OpenAPI spec) per product."""

from __future__ import annotations

import http
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import marshmallow as ma
import yaml
from flask import Blueprint, Flask, render_template, url_for
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from app.errors import PROBLEM_MEDIA_TYPE


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error response of the APIs carries them."""

    type = ma.fields.String(metadata={"description": "Stable URI of the problem kind"})
    title = ma.fields.String(metadata={"description": "Short summary of the problem kind"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "Explanation of this occurrence"})
    instance = ma.fields.String(metadata={"description": "Path of the request"})
    request_id = ma.fields.String(metadata={"description": "Id to quote in support requests"})
    errors = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Validation errors, one per field: field, in, message"},
    )


class ProductApi(Api):
    """An ``Api`` whose documented error responses are problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


@dataclass(frozen=True)
class ApiProduct:
    """One published API product: its spec metadata and the blueprints it serves."""

    slug: str
    title: str
    version: str
    description: str
    blueprints: Callable[[], Iterable[Any]] = field(default=lambda: ())
    # OAuth2 scopes a caller needs (RFC 6749 section 3.3); empty for public products.
    scopes: tuple[str, ...] = ()
    authenticated: bool = True

    @property
    def spec_filename(self) -> str:
        return f"{self.slug}.{self.version}.yaml"

    @property
    def config_prefix(self) -> str:
        return f"{self.slug.upper()}_"


def all_products() -> list[ApiProduct]:
    """Every published product, in catalogue order."""
    from apis.account import PRODUCT as ACCOUNT
    from apis.catalog import PRODUCT as CATALOG
    from apis.parking import PRODUCT as PARKING
    from apis.transit import PRODUCT as TRANSIT

    return [PARKING, TRANSIT, CATALOG, ACCOUNT]


def register_apis(app: Flask) -> dict[str, ProductApi]:
    """Create one ``Api`` per product, register its blueprints and the docs page."""
    apis: dict[str, ProductApi] = {}
    for product in all_products():
        prefix = product.config_prefix
        app.config.update(
            {
                f"{prefix}API_TITLE": product.title,
                f"{prefix}API_VERSION": product.version,
                f"{prefix}OPENAPI_VERSION": "3.0.3",
                f"{prefix}OPENAPI_URL_PREFIX": "/openapi",
                f"{prefix}OPENAPI_JSON_PATH": f"{product.slug}.{product.version}.json",
                f"{prefix}API_SPEC_OPTIONS": {
                    "info": {"description": product.description},
                    "servers": [{"url": "/"}],
                },
            }
        )
        api = ProductApi(app, config_prefix=prefix)
        if product.authenticated:
            document_security(api, product)
        for blueprint in product.blueprints():
            api.register_blueprint(blueprint)
        apis[product.slug] = api
    app.extensions["mobihub.apis"] = apis
    app.register_blueprint(docs)
    return apis


def document_security(api: ProductApi, product: ApiProduct) -> None:
    """Declare the API key and OAuth2 schemes so the reference's "Authorize" works."""
    scopes = dict.fromkeys(product.scopes, f"Read access to the {product.title}")
    api.spec.components.security_scheme(
        "ApiKey",
        {"type": "apiKey", "in": "header", "name": "X-API-Key",
         "description": "An API key of your app (`mob_live_…` or `mob_test_…`)."},
    )
    api.spec.components.security_scheme(
        "OAuth2",
        {"type": "oauth2",
         "description": "JWT access tokens (RFC 9068) sent as `Authorization: Bearer`.",
         "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": scopes}}},
    )
    api.spec.options["security"] = [{"ApiKey": []}, {"OAuth2": list(product.scopes)}]


def spec_documents(app: Flask) -> dict[str, dict[str, Any]]:
    """Each product's OpenAPI document as a dict, keyed by its file name."""
    apis: dict[str, ProductApi] = app.extensions["mobihub.apis"]
    products = {p.slug: p for p in all_products()}
    with app.app_context():
        return {products[slug].spec_filename: api.spec.to_dict() for slug, api in apis.items()}


def dump_spec(document: dict[str, Any]) -> str:
    """Serialise a spec the same way every time, so the checked-in files diff cleanly."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def write_specs(app: Flask, directory: Path) -> list[Path]:
    """Write ``<product>.v1.yaml`` for every product into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, document in spec_documents(app).items():
        path = directory / filename
        path.write_text(dump_spec(document), encoding="utf-8")
        written.append(path)
    return written


def _swagger_ui_path() -> str:
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


docs = Blueprint(
    "docs",
    __name__,
    template_folder="templates",
    static_folder=_swagger_ui_path(),
    static_url_path="/static/swagger-ui",
)


@docs.get("/docs")
def interactive_docs() -> str:
    """Swagger UI over every product's spec, from locally installed assets."""
    specs = [
        {"name": f"{p.title} ({p.version})", "url": url_for(_spec_endpoint(p))}
        for p in all_products()
    ]
    return render_template("docs/swagger.html", specs=specs)


def _spec_endpoint(product: ApiProduct) -> str:
    # flask-smorest names the doc blueprint after the config prefix: "parking-api-docs".
    return f"{product.slug}-api-docs.openapi_json"
