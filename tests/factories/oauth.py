"""OAuth2 test helpers: clients registered through the services, a real hub on a socket, and a
browser-like sign-in and consent."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests
from flask import Flask
from werkzeug.serving import make_server

from app.accounts.services import OPERATOR
from app.oauth.services import RegisteredClient, create_client
from tests.factories.accounts import PASSWORD, sibling_app

CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect


def make_client(session: Any, app: Any) -> RegisteredClient:
    """An OAuth2 client of an app."""
    return create_client(session, OPERATOR, app.id)


@dataclass
class LiveHub:
    """A hub served over real HTTP on 127.0.0.1, sharing the test's transaction."""

    app: Flask
    url: str

    def endpoint(self, path: str) -> str:
        return self.url + path


@contextmanager
def serve_hub(make_app_fixture: Any, session: Any, **settings: Any) -> Iterator[LiveHub]:
    """Start a real HTTP server (one request at a time, so the shared connection is safe)."""
    holder: dict[str, Flask] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start))
    url = f"http://127.0.0.1:{server.server_port}"
    holder["app"] = sibling_app(make_app_fixture, session, BASE_URL=url, **settings)
    session.commit()  # release the test's savepoint so the server's sessions nest cleanly
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveHub(holder["app"], url)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def csrf_token(html: str) -> str:
    """The CSRF token of a rendered Flask-WTF form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in_and_consent(browser: requests.Session, authorization_url: str, email: str,
                        password: str = PASSWORD, allow: bool = True) -> str:
    """Follow the authorization URL as a user would; return the redirect back to the client."""
    response = browser.get(authorization_url, allow_redirects=False)
    assert response.status_code == 302, response.text
    login_url = urljoin(authorization_url, response.headers["Location"])
    page = browser.get(login_url)
    response = browser.post(login_url, data={"csrf_token": csrf_token(page.text),
                                             "email": email, "password": password},
                            allow_redirects=False)
    assert response.status_code == 302, response.text
    consent_url = urljoin(authorization_url, response.headers["Location"])
    page = browser.get(consent_url)
    assert page.status_code == 200, page.text
    choice = {"allow": "Allow"} if allow else {"deny": "Deny"}
    response = browser.post(consent_url, data={"csrf_token": csrf_token(page.text), **choice},
                            allow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def sign_in(browser: requests.Session, hub: LiveHub, email: str, password: str = PASSWORD
            ) -> requests.Response:
    """Sign in through the login form (CSRF token included)."""
    page = browser.get(hub.endpoint("/oauth/login"))
    return browser.post(hub.endpoint("/oauth/login"), allow_redirects=False,
                        data={"csrf_token": csrf_token(page.text), "email": email,
                              "password": password})


def authorize_with_pkce(hub: LiveHub, client: Any, email: str) -> dict[str, Any]:
    """The tokens of an authorization-code grant with PKCE (S256): ``client`` (an Authlib
    OAuth2Session) sends the user ``email`` to sign in and consent, then redeems the code."""
    verifier = secrets.token_urlsafe(48)
    url, _ = client.create_authorization_url(hub.endpoint("/oauth/authorize"),
                                             code_verifier=verifier)
    redirect = sign_in_and_consent(requests.Session(), url, email)
    return client.fetch_token(hub.endpoint("/oauth/token"), authorization_response=redirect,
                              code_verifier=verifier)
