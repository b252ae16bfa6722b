"""The account API: apps and keys of the caller's own organisation, and nothing else."""

import pytest

from app.accounts.keys import parse_key
from app.accounts.resolver import resolve_api_key
from app.accounts.services import OPERATOR, get_api_key, list_api_keys
from tests.factories.accounts import make_api_key, make_developer_app


@pytest.fixture
def caller(session, client):
    """A client authenticated as an app of organisation A, and A's app."""
    app = make_developer_app(session)
    client.environ_base["HTTP_X_API_KEY"] = make_api_key(session, app)
    session.commit()
    return client, app


@pytest.fixture
def foreign(session):
    """An app of organisation B with a key."""
    app = make_developer_app(session)
    key_id = parse_key(make_api_key(session, app)).key_id
    session.commit()  # a refused request rolls back its work, never the fixtures
    return app, key_id


def test_without_a_credential_the_account_api_answers_401(client):
    response = client.get("/account/v1/apps")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_a_wrong_key_answers_401(client):
    response = client.get("/account/v1/apps", headers={"X-API-Key": "mob_live_nope"})
    assert response.status_code == 401


def test_lists_only_the_callers_organisation_apps(session, caller, foreign):
    client, app = caller
    sibling = make_developer_app(session, app.organisation, subscribe=False)
    response = client.get("/account/v1/apps")
    assert response.status_code == 200
    assert [a["id"] for a in response.get_json()["items"]] == [app.id, sibling.id]


def test_gets_an_own_app(caller):
    client, app = caller
    body = client.get(f"/account/v1/apps/{app.id}").get_json()
    assert body["name"] == app.name
    assert body["organisation_id"] == app.organisation_id


def test_creates_a_key_shown_once_that_works(caller):
    client, app = caller
    response = client.post(f"/account/v1/apps/{app.id}/keys",
                           json={"label": "ci", "scopes": ["transit:read"]})
    assert response.status_code == 201
    body = response.get_json()
    assert resolve_api_key(body["key"]).scopes == {"transit:read"}
    listed = client.get(f"/account/v1/apps/{app.id}/keys").get_json()["items"]
    assert body["key_id"] in [k["key_id"] for k in listed]
    assert all("key" not in k for k in listed)
    assert body["key"] not in client.get(f"/account/v1/apps/{app.id}/keys").get_data(as_text=True)


def test_bad_key_fields_answer_422_listing_each_field(caller):
    client, app = caller
    response = client.post(f"/account/v1/apps/{app.id}/keys",
                           json={"scopes": ["everything"], "expires_at": "tomorrow"})
    assert response.status_code == 422
    fields = {error["field"] for error in response.get_json()["errors"]}
    assert {"scopes.0", "expires_at"} <= fields


def test_rotates_and_revokes_an_own_key(session, caller):
    client, app = caller
    raw = make_api_key(session, app)
    key_id = parse_key(raw).key_id
    rotated = client.post(f"/account/v1/apps/{app.id}/keys/{key_id}/rotate",
                          json={"overlap_seconds": 0})
    assert rotated.status_code == 201
    assert rotated.get_json()["replaces_key_id"] == key_id
    assert resolve_api_key(raw) is None  # zero overlap: the old key ends now
    new_id = rotated.get_json()["key_id"]
    revoked = client.delete(f"/account/v1/apps/{app.id}/keys/{new_id}")
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    assert resolve_api_key(rotated.get_json()["key"]) is None


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/account/v1/apps/{app}"),
    ("get", "/account/v1/apps/{app}/keys"),
    ("post", "/account/v1/apps/{app}/keys"),
    ("delete", "/account/v1/apps/{app}/keys/{key}"),
    ("post", "/account/v1/apps/{app}/keys/{key}/rotate"),
    ("delete", "/account/v1/apps/{own}/keys/{key}"),
    ("post", "/account/v1/apps/{own}/keys/{key}/rotate"),
])
def test_another_organisations_ids_answer_404_and_change_nothing(
        session, caller, foreign, method, path):
    client, app = caller
    foreign_app, foreign_key = foreign
    url = path.format(app=foreign_app.id, key=foreign_key, own=app.id)
    response = getattr(client, method)(url, json={})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    listed = [a["id"] for a in client.get("/account/v1/apps").get_json()["items"]]
    assert foreign_app.id not in listed
    assert get_api_key(session, OPERATOR, foreign_key).revoked_at is None
    assert len(list_api_keys(session, OPERATOR, foreign_app.id)) == 1


def test_api_client_fixture_carries_a_working_key_for_every_product(api_client):
    identity = resolve_api_key(api_client.api_key)
    assert set(identity.subscriptions) == {"parking", "transit"}
    assert identity.subscriptions["parking"].plan == "partner"
    assert api_client.get("/account/v1/apps").status_code == 200
