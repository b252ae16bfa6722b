"""Factories for portal tests: sign a developer up through the pages, read the mail sent."""

from __future__ import annotations

import email
import re
import secrets
from email.message import Message
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

PASSWORD = "correct horse battery"
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK_PATTERN = re.compile(r"https?://\S+")


def csrf_token(client: FlaskClient, path: str) -> str:
    """The form token of the page at ``path`` (as a browser would get it)."""
    page = client.get(path)
    match = CSRF_PATTERN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, str], *,
              form_page: str | None = None, follow: bool = False):
    """Post a form the way a browser does: with the token of the page that shows it."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=follow)


def unique_email(name: str = "dev") -> str:
    """An address no other test uses."""
    return f"{name}-{secrets.token_hex(4)}@example.org"


def mails_to(app: Flask, address: str) -> list[Message]:
    """Messages written to the instance mail folder for ``address``, oldest first."""
    folder = Path(app.config["INSTANCE_PATH"]) / "mail"
    messages = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            messages.append(message)
    return messages


def link_in(message: Message) -> str:
    """The link in a plain-text message, as a path the test client can open."""
    body = message.get_payload(decode=True).decode()
    match = LINK_PATTERN.search(body)
    assert match, body
    return re.sub(r"^https?://[^/]+", "", match.group(0))


def sign_up(client: FlaskClient, address: str | None = None, *,
            organisation: str | None = None, verify: bool = True, log_in: bool = True,
            app: Flask) -> str:
    """A developer signed up through the pages (verified and logged in by default)."""
    address = address or unique_email()
    organisation = organisation or f"Org {secrets.token_hex(4)}"
    response = post_form(client, "/developer/signup", {
        "email": address, "password": PASSWORD, "organisation": organisation})
    assert response.status_code == 302, response.get_data(as_text=True)
    if verify:
        assert client.get(link_in(mails_to(app, address)[-1])).status_code == 302
    if verify and log_in:
        response = post_form(client, "/developer/login", {"email": address,
                                                          "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
    return address


def create_app_via_page(client: FlaskClient, name: str = "My app") -> int:
    """Create an app in the signed-in developer's only organisation; its id."""
    dashboard = client.get("/developer/")
    org_path = dashboard.headers["Location"]
    response = post_form(client, f"{org_path}/apps", {"name": name, "environment": "live"},
                         form_page=org_path)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/apps/(\d+)/keys", response.headers["Location"]).group(1))


def create_key_via_page(client: FlaskClient, app_id: int, label: str = "") -> str:
    """Create a key on the keys page; the raw key shown once."""
    response = post_form(client, f"/developer/apps/{app_id}/keys", {"label": label})
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(r'id="new-key"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return match.group(1)


def create_oauth_client_via_page(client: FlaskClient, app_id: int) -> tuple[str, str]:
    """Register an OAuth client on the app's OAuth page; its client id and the secret shown."""
    response = post_form(client, f"/developer/apps/{app_id}/oauth", {})
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    client_id = re.search(r'id="new-client-id"[^>]*value="([^"]+)"', page)
    secret = re.search(r'id="new-client-secret"[^>]*value="([^"]+)"', page)
    assert client_id, page
    assert secret, page
    return client_id.group(1), secret.group(1)
