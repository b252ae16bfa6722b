"""Apps, keys and subscriptions through the pages."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.accounts.keys import hash_secret, parse_key
from app.accounts.models import App
from app.accounts.services import Actor, find_user, key_status, list_api_keys, list_subscriptions
from tests.portal.factories import create_app_via_page, create_key_via_page, post_form, sign_up


def test_a_new_app_is_subscribed_to_every_product_on_the_free_plan(
        app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)

    app_id = create_app_via_page(client, "Journey planner")

    subscriptions = list_subscriptions(session, Actor.user(find_user(session, address)), app_id)
    assert {(s.product.slug, s.plan.slug) for s in subscriptions} == {
        ("parking", "free"), ("transit", "free")}


def test_organisation_page_shows_an_empty_state_before_the_first_app(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)

    page = client.get("/developer/", follow_redirects=True).get_data(as_text=True)

    assert "No apps yet" in page
    assert '<label for="app-name">App name</label>' in page


def test_a_key_secret_is_shown_once_and_only_its_hash_is_stored(
        app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)
    app_id = create_app_via_page(client)

    raw = create_key_via_page(client, app_id, "server")

    parsed = parse_key(raw)
    assert parsed is not None
    [key] = list_api_keys(session, Actor.user(find_user(session, address)), app_id)
    assert key.secret_sha256 == hash_secret(parsed.secret)
    assert key.label == "server"
    page = client.get(f"/developer/apps/{app_id}/keys").get_data(as_text=True)
    assert key.key_id in page
    assert raw not in page
    assert "Never" in page
    assert 'data-copy="#new-key"' not in page


def test_rotating_a_key_keeps_the_old_one_for_the_chosen_overlap(
        app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)
    app_id = create_app_via_page(client)
    create_key_via_page(client, app_id)
    actor = Actor.user(find_user(session, address))
    [old] = list_api_keys(session, actor, app_id)

    response = post_form(client, f"/developer/apps/{app_id}/keys/{old.key_id}/rotate",
                         {"overlap": "3600"}, form_page=f"/developer/apps/{app_id}/keys")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"replaces {old.key_id}" in page
    assert "1 hour" in page
    session.expire_all()
    old, new = list_api_keys(session, actor, app_id)
    assert new.replaces_key_id == old.key_id
    assert key_status(old) == "active"
    assert old.expires_at is not None
    assert (old.expires_at - new.created_at).total_seconds() <= 3600 + 5


def test_revoking_a_key_stops_it_at_once(app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)
    app_id = create_app_via_page(client)
    create_key_via_page(client, app_id)
    actor = Actor.user(find_user(session, address))
    [key] = list_api_keys(session, actor, app_id)

    post_form(client, f"/developer/apps/{app_id}/keys/{key.key_id}/revoke", {},
              form_page=f"/developer/apps/{app_id}/keys")

    session.expire_all()
    assert key_status(list_api_keys(session, actor, app_id)[0]) == "revoked"
    assert "revoked" in client.get(f"/developer/apps/{app_id}/keys").get_data(as_text=True)


def test_an_app_can_be_renamed_given_redirect_uris_and_deleted(
        app: Flask, client: FlaskClient, session) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    settings = f"/developer/apps/{app_id}"

    bad = post_form(client, settings, {"name": "Renamed",
                                       "redirect_uris": "http://example.org/cb"})
    assert bad.status_code == 422
    assert "must be https" in bad.get_data(as_text=True)
    post_form(client, settings, {"name": "Renamed", "redirect_uris": "https://example.org/cb"})
    session.expire_all()
    assert session.get(App, app_id).redirect_uris == ["https://example.org/cb"]
    assert session.get(App, app_id).name == "Renamed"

    post_form(client, f"{settings}/delete", {}, form_page=settings)

    session.expire_all()
    assert session.get(App, app_id) is None


def test_subscribing_changes_an_apps_plan(app: Flask, client: FlaskClient, session) -> None:
    address = sign_up(client, app=app)
    app_id = create_app_via_page(client)

    post_form(client, f"/developer/apps/{app_id}/subscriptions",
              {"product": "transit", "plan": "standard"}, form_page=f"/developer/apps/{app_id}")

    plans = {s.product.slug: s.plan.slug for s in list_subscriptions(
        session, Actor.user(find_user(session, address)), app_id)}
    assert plans == {"parking": "free", "transit": "standard"}


def test_product_page_fills_the_quickstart_with_the_developers_key_id(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    raw = create_key_via_page(client, app_id)
    key_id = parse_key(raw).key_id

    page = client.get("/developer/products/transit").get_data(as_text=True)

    assert f"X-API-Key: {key_id}_&lt;secret&gt;" in page
    assert "requests.get(" in page
    assert "Free" in page
