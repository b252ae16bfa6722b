"""Sign-up, verification, log-in and log-out, password reset: CSRF, throttling, no enumeration."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.accounts.services import find_user
from tests.portal.factories import (
    PASSWORD,
    csrf_token,
    link_in,
    mails_to,
    post_form,
    sign_up,
    unique_email,
)


def test_sign_up_mails_a_link_that_verifies_the_address(app: Flask, client: FlaskClient,
                                                         session) -> None:
    address = unique_email()
    sign_up(client, address, verify=False, app=app)
    assert find_user(session, address).email_verified is False
    [message] = mails_to(app, address)
    assert "Confirm your email" in message["Subject"]

    response = client.get(link_in(message))

    assert response.status_code == 302
    assert find_user(session, address).email_verified is True
    assert client.get(link_in(message)).status_code == 400  # a link works once


def test_log_in_is_refused_until_the_address_is_verified(app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, verify=False, app=app)

    response = post_form(client, "/developer/login", {"email": address, "password": PASSWORD})

    assert response.status_code == 401
    assert "Confirm your email address first" in response.get_data(as_text=True)
    assert client.get("/developer/").status_code == 302  # still not signed in


def test_sign_up_with_a_known_address_answers_like_a_new_one(app: Flask,
                                                             client: FlaskClient) -> None:
    address = sign_up(client, app=app, log_in=False)

    response = post_form(client, "/developer/signup", {
        "email": address.upper(), "password": "another password", "organisation": "Other Org"})

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/developer/check-email")
    assert "already has one" in mails_to(app, address)[-1].get_payload()


def test_a_form_without_its_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    address = unique_email()

    response = client.post("/developer/signup", data={
        "email": address, "password": PASSWORD, "organisation": "No Token Org"})

    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert mails_to(app, address) == []


def test_api_endpoints_do_not_ask_for_a_csrf_token(client: FlaskClient) -> None:
    response = client.post("/catalog/v1/products", json={})

    assert response.status_code == 405  # the API's own answer, not a CSRF refusal


def test_log_in_starts_a_new_session_and_log_out_ends_it(app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, log_in=False, app=app)
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    token_before = csrf_token(client, "/developer/login")

    post_form(client, "/developer/login", {"email": address, "password": PASSWORD})

    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["uid"]
    assert csrf_token(client, "/developer/reset") != token_before
    assert client.get("/developer/").status_code == 302
    assert "/developer/orgs/" in client.get("/developer/").headers["Location"]

    post_form(client, "/developer/logout", {}, form_page="/developer/reset")

    assert "/developer/login" in client.get("/developer/").headers["Location"]


def test_log_in_is_throttled_after_repeated_failures(app: Flask, client: FlaskClient,
                                                     redis) -> None:
    address = sign_up(client, log_in=False, app=app)
    for _ in range(5):
        response = post_form(client, "/developer/login", {"email": address, "password": "wrong!"})
        assert response.status_code == 401

    response = post_form(client, "/developer/login", {"email": address, "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert redis.keys("mh:throttle:login:*")


def test_unknown_email_fails_log_in_like_a_wrong_password(app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, log_in=False, app=app)
    wrong = post_form(client, "/developer/login", {"email": address, "password": "wrong pass"})
    unknown = post_form(client, "/developer/login", {"email": unique_email(),
                                                     "password": "wrong pass"})

    assert wrong.status_code == unknown.status_code == 401
    assert "do not match an account" in unknown.get_data(as_text=True)


def test_password_reset_answers_the_same_and_the_link_sets_a_new_password(
        app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, log_in=False, app=app)
    known = post_form(client, "/developer/reset", {"email": address})
    unknown = post_form(client, "/developer/reset", {"email": unique_email()})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    message = mails_to(app, address)[-1]
    assert "Reset your MobiHub password" in message["Subject"]
    path = link_in(message)

    response = post_form(client, path, {"password": "a brand new password"})

    assert response.status_code == 302
    assert post_form(client, "/developer/login", {
        "email": address, "password": PASSWORD}).status_code == 401
    assert post_form(client, "/developer/login", {
        "email": address, "password": "a brand new password"}).status_code == 302
    assert client.get(path).status_code == 400  # used


def test_password_reset_requests_are_throttled(app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, log_in=False, app=app)
    for _ in range(3):
        assert post_form(client, "/developer/reset", {"email": address}).status_code == 200

    response = post_form(client, "/developer/reset", {"email": address})

    assert response.status_code == 429
    assert len([m for m in mails_to(app, address) if "Reset" in m["Subject"]]) == 3


def test_log_in_never_redirects_to_another_site(app: Flask, client: FlaskClient) -> None:
    address = sign_up(client, log_in=False, app=app)

    response = post_form(client, "/developer/login", {
        "email": address, "password": PASSWORD, "next": "//evil.example/"})

    assert response.headers["Location"] == "/developer/"
