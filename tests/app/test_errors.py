"""RFC 9457 problem details on every API error."""

import marshmallow as ma
import pytest
from flask.views import MethodView
from flask_smorest import Blueprint

PROBLEM = "application/problem+json"


def test_unknown_path_is_problem_json_404(client):
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["type"] == "https://mobihub.eu/problems/not-found"
    assert body["status"] == 404
    assert body["instance"] == "/no/such/path"
    assert body["request_id"] == response.headers["X-Request-ID"]


def test_wrong_method_is_405_with_allow_header(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "GET" in response.headers["Allow"]


def test_browser_gets_an_html_error_page_outside_the_apis(client):
    response = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Back to the start page" in response.data


def test_api_paths_answer_problem_json_even_to_browsers(client):
    response = client.get("/catalog/v1/products/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert "nope" in response.get_json()["detail"]


class _Query(ma.Schema):
    radius = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    lat = ma.fields.Float(required=True)


@pytest.fixture
def probe_app(make_app):
    """An app with one extra API route that validates input and one that crashes."""
    application = make_app()
    blp = Blueprint("probe", __name__, url_prefix="/catalog/v1/probe")

    @blp.route("")
    class Probe(MethodView):
        @blp.arguments(_Query, location="query")
        def get(self, args):
            return args

    @blp.route("/crash")
    class Crash(MethodView):
        def get(self):
            raise RuntimeError("database password is hunter2")

    application.extensions["mobihub.apis"]["catalog"].register_blueprint(blp)
    return application


def test_validation_errors_list_every_field(probe_app):
    response = probe_app.test_client().get("/catalog/v1/probe?radius=0")
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["type"] == "https://mobihub.eu/problems/validation-error"
    fields = {(e["field"], e["in"]) for e in body["errors"]}
    assert fields == {("radius", "query"), ("lat", "query")}


def test_unexpected_error_is_500_without_internals(probe_app):
    response = probe_app.test_client().get("/catalog/v1/probe/crash")
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    text = response.get_data(as_text=True)
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    assert response.get_json()["request_id"] == response.headers["X-Request-ID"]


def test_an_oversized_body_is_refused_even_where_the_view_ignores_it(make_app):
    small = make_app(MAX_UPLOAD_BYTES=1000)
    response = small.test_client().post("/healthz", data=b"x" * 5000)
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert response.get_json()["type"] == "https://mobihub.eu/problems/payload-too-large"
    assert "5,000 bytes" in response.get_json()["detail"]
