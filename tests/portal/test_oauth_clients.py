"""OAuth clients through the app's OAuth page: secret shown once, tokens, revocation, roles."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.accounts.services import Actor, add_member, find_user
from app.oauth.models import sha256_hex
from app.oauth.services import list_clients
from tests.portal.factories import (
    create_app_via_page,
    create_oauth_client_via_page,
    post_form,
    sign_up,
)


def _client_credentials_token(client: FlaskClient, client_id: str, secret: str):
    """Ask the token endpoint for a token, as the app's server would (RFC 6749 section 4.4)."""
    return client.post("/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(client_id, secret))


def test_an_app_without_oauth_clients_shows_an_empty_state(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)

    page = client.get(f"/developer/apps/{app_id}/oauth").get_data(as_text=True)

    assert "No OAuth clients yet" in page
    assert "Create OAuth client" in page


def test_a_client_secret_is_shown_once_with_a_copy_button_and_only_its_hash_is_stored(
        app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)
    app_id = create_app_via_page(client)

    client_id, secret = create_oauth_client_via_page(client, app_id)

    [registered] = list_clients(session, Actor.user(find_user(session, address)), app_id)
    assert registered.client_id == client_id
    assert registered.secret_sha256 == sha256_hex(secret)
    page = client.get(f"/developer/apps/{app_id}/oauth").get_data(as_text=True)
    assert client_id in page
    assert secret not in page
    assert 'data-copy="#new-client-secret"' not in page


def test_the_secret_shown_gets_a_token_from_the_token_endpoint(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    client_id, secret = create_oauth_client_via_page(client, app_id)

    response = _client_credentials_token(app.test_client(), client_id, secret)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["token_type"].lower() == "bearer"
    assert response.json["access_token"]


def test_a_revoked_client_is_listed_as_revoked_and_gets_no_more_tokens(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    client_id, secret = create_oauth_client_via_page(client, app_id)

    response = post_form(client, f"/developer/apps/{app_id}/oauth/{client_id}/revoke", {},
                         form_page=f"/developer/apps/{app_id}/oauth", follow=True)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"OAuth client {client_id} revoked." in page
    assert '<span class="badge revoked">revoked</span>' in page
    assert _client_credentials_token(app.test_client(), client_id, secret).status_code == 401


def test_a_billing_member_cannot_create_oauth_clients(
        app: Flask, client: FlaskClient, session) -> None:
    owner_browser = app.test_client()
    owner = sign_up(owner_browser, app=app)
    app_id = create_app_via_page(owner_browser)
    member = sign_up(client, app=app)
    org_id = int(owner_browser.get("/developer/").headers["Location"].rsplit("/", 1)[1])
    add_member(session, Actor.user(find_user(session, owner)), org_id, member, "billing")

    response = post_form(client, f"/developer/apps/{app_id}/oauth", {})

    assert response.status_code == 403
    assert list_clients(session, Actor.user(find_user(session, owner)), app_id) == []
