"""Every portal page that takes an id answers 404 to a developer of another organisation."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import ApiKey
from app.accounts.services import Actor, find_user, list_api_keys
from app.oauth.services import list_clients
from tests.portal.factories import (
    create_app_via_page,
    create_key_via_page,
    create_oauth_client_via_page,
    csrf_token,
    sign_up,
)


@pytest.fixture
def victim(app: Flask) -> dict:
    """Another organisation's developer with an app and a key (in their own browser)."""
    browser = app.test_client()
    address = sign_up(browser, app=app)
    app_id = create_app_via_page(browser, "Victim app")
    create_key_via_page(browser, app_id)
    client_id, _ = create_oauth_client_via_page(browser, app_id)
    org_path = browser.get("/developer/").headers["Location"]
    return {"email": address, "app_id": app_id, "client_id": client_id,
            "org_id": int(org_path.rsplit("/", 1)[1])}


def _victim_key(session, victim: dict) -> ApiKey:
    user = find_user(session, victim["email"])
    return list_api_keys(session, Actor.user(user), victim["app_id"])[0]


GET_PAGES = [
    "/developer/orgs/{org_id}",
    "/developer/orgs/{org_id}/team",
    "/developer/apps/{app_id}",
    "/developer/apps/{app_id}/keys",
    "/developer/apps/{app_id}/oauth",
    "/developer/apps/{app_id}/usage",
]
POST_ACTIONS = [
    ("/developer/orgs/{org_id}/apps", {"name": "Intruder app"}),
    ("/developer/orgs/{org_id}/invitations", {"email": "x@example.org", "role": "owner"}),
    ("/developer/orgs/{org_id}/invitations/1/cancel", {}),
    ("/developer/orgs/{org_id}/members/{user_id}/role", {"role": "billing"}),
    ("/developer/orgs/{org_id}/members/{user_id}/remove", {}),
    ("/developer/apps/{app_id}", {"name": "Renamed by intruder"}),
    ("/developer/apps/{app_id}/delete", {}),
    ("/developer/apps/{app_id}/subscriptions", {"product": "transit", "plan": "partner"}),
    ("/developer/apps/{app_id}/keys", {"label": "intruder"}),
    ("/developer/apps/{app_id}/keys/{key_id}/rotate", {"overlap": "0"}),
    ("/developer/apps/{app_id}/keys/{key_id}/revoke", {}),
    ("/developer/apps/{app_id}/oauth", {}),
    ("/developer/apps/{app_id}/oauth/{client_id}/revoke", {}),
]


@pytest.mark.parametrize("page", GET_PAGES)
def test_pages_of_another_organisation_are_not_found(app: Flask, client: FlaskClient,
                                                    victim: dict, page: str) -> None:
    sign_up(client, app=app)

    response = client.get(page.format(**victim))

    assert response.status_code == 404
    assert "Victim app" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("action", "data"), POST_ACTIONS)
def test_actions_on_another_organisation_are_not_found_and_change_nothing(
        app: Flask, client: FlaskClient, session, victim: dict, action: str, data: dict) -> None:
    sign_up(client, app=app)
    key = _victim_key(session, victim)
    user_id = find_user(session, victim["email"]).id
    path = action.format(key_id=key.key_id, user_id=user_id, **victim)

    response = client.post(path, data={"csrf_token": csrf_token(client, "/developer/reset"),
                                       **data})

    assert response.status_code == 404
    session.expire_all()
    key = _victim_key(session, victim)
    assert key.revoked_at is None
    assert key.expires_at is None
    assert key.app.name == "Victim app"
    owner = Actor.user(find_user(session, victim["email"]))
    assert len(list_api_keys(session, owner, victim["app_id"])) == 1
    [oauth_client] = list_clients(session, owner, victim["app_id"])
    assert oauth_client.revoked_at is None


def test_a_key_of_another_app_cannot_be_reached_through_my_app(
        app: Flask, client: FlaskClient, session, victim: dict) -> None:
    sign_up(client, app=app)
    my_app = create_app_via_page(client)
    key = _victim_key(session, victim)

    response = client.post(f"/developer/apps/{my_app}/keys/{key.key_id}/revoke",
                           data={"csrf_token": csrf_token(client, "/developer/reset")})

    assert response.status_code == 404
    session.expire_all()
    assert _victim_key(session, victim).revoked_at is None


def test_an_oauth_client_of_another_app_cannot_be_revoked_through_my_app(
        app: Flask, client: FlaskClient, session, victim: dict) -> None:
    sign_up(client, app=app)
    my_app = create_app_via_page(client)

    response = client.post(f"/developer/apps/{my_app}/oauth/{victim['client_id']}/revoke",
                           data={"csrf_token": csrf_token(client, "/developer/reset")})

    assert response.status_code == 404
    owner = Actor.user(find_user(session, victim["email"]))
    [oauth_client] = list_clients(session, owner, victim["app_id"])
    session.refresh(oauth_client)
    assert oauth_client.revoked_at is None


def test_private_pages_send_anonymous_visitors_to_log_in(client: FlaskClient,
                                                         victim: dict) -> None:
    for page in GET_PAGES:
        response = client.get(page.format(**victim))
        assert response.status_code == 302
        assert "/developer/login?next=" in response.headers["Location"]
