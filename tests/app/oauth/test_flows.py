"""OAuth2 flows end to end with Authlib's own client against the hub served over real HTTP."""

import secrets

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from app.oauth.tokens import resolve_bearer_token
from tests.factories.accounts import make_developer_app, make_organisation, make_user
from tests.factories.oauth import (
    CALLBACK,
    authorize_with_pkce,
    make_client,
    serve_hub,
    sign_in,
    sign_in_and_consent,
)


@pytest.fixture
def hub(make_app, session, redis_url):
    with serve_hub(make_app, session, REDIS_URL=redis_url) as live:
        yield live


@pytest.fixture
def developer(session):
    user = make_user(session)
    organisation, _ = make_organisation(session, owner=user)
    return user, organisation


def test_metadata_is_valid_rfc8414_and_points_at_our_endpoints(hub):
    body = requests.get(hub.endpoint("/.well-known/oauth-authorization-server"), timeout=10).json()
    AuthorizationServerMetadata(body).validate()
    assert body["issuer"] == hub.url
    assert body["token_endpoint"] == hub.endpoint("/oauth/token")
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert set(body["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic", "client_secret_post", "none"}


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_gives_a_jwt_the_hub_resolves_locally(
        hub, session, developer, auth_method):
    _, organisation = developer
    app = make_developer_app(session, organisation)
    registered = make_client(session, app)
    session.commit()
    client = OAuth2Session(registered.client.client_id, registered.secret,
                           token_endpoint_auth_method=auth_method, scope="transit:read")
    token = client.fetch_token(hub.endpoint("/oauth/token"), grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    assert "refresh_token" not in token
    assert token["scope"] == "transit:read"
    with hub.app.app_context():
        identity = resolve_bearer_token(token["access_token"])
    assert identity.app_id == app.id
    assert identity.organisation_id == organisation.id
    assert identity.credential_kind == "jwt"
    assert identity.credential_id == registered.client.client_id
    assert identity.scopes == {"transit:read"}
    assert set(identity.subscriptions) == {"parking", "transit"}


def test_client_credentials_with_a_wrong_secret_is_invalid_client(hub, session, developer):
    app = make_developer_app(session, developer[1])
    registered = make_client(session, app)
    session.commit()
    response = requests.post(hub.endpoint("/oauth/token"), timeout=10,
                             data={"grant_type": "client_credentials"},
                             auth=(registered.client.client_id, "wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"  # RFC 6749 section 5.2


def _authorization_code_client(registered, **kwargs):
    return OAuth2Session(registered.client.client_id, registered.secret, redirect_uri=CALLBACK,
                         scope="parking:read transit:read", code_challenge_method="S256",
                         **kwargs)


def test_authorization_code_with_pkce_and_refresh_for_a_confidential_client(
        hub, session, developer):
    user, organisation = developer
    app = make_developer_app(session, organisation, redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    client = _authorization_code_client(registered)
    token = authorize_with_pkce(hub, client, user.email)
    with hub.app.app_context():
        identity = resolve_bearer_token(token["access_token"])
    assert identity.scopes == {"parking:read", "transit:read"}

    refreshed = client.refresh_token(hub.endpoint("/oauth/token"),
                                     refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]  # rotated
    with hub.app.app_context():
        assert resolve_bearer_token(refreshed["access_token"]).app_id == app.id
    # The used refresh token is spent.
    response = requests.post(hub.endpoint("/oauth/token"), timeout=10,
                             data={"grant_type": "refresh_token",
                                   "refresh_token": token["refresh_token"]},
                             auth=(registered.client.client_id, registered.secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_authorization_code_for_a_public_client_needs_pkce(hub, session, developer):
    user, organisation = developer
    app = make_developer_app(session, organisation, client_type="public",
                             redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    assert registered.secret is None
    browser = requests.Session()
    sign_in(browser, hub, user.email)

    # Without a code challenge the request goes back to the client refused (RFC 6749 4.1.2.1).
    no_pkce = OAuth2Session(registered.client.client_id, redirect_uri=CALLBACK,
                            scope="transit:read", token_endpoint_auth_method="none")
    url, _ = no_pkce.create_authorization_url(hub.endpoint("/oauth/authorize"))
    response = browser.get(url, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(CALLBACK + "?error=invalid_request")
    # Nor is plain PKCE accepted: S256 only.
    plain = OAuth2Session(registered.client.client_id, redirect_uri=CALLBACK,
                          scope="transit:read", code_challenge_method="plain")
    url, _ = plain.create_authorization_url(hub.endpoint("/oauth/authorize"),
                                            code_verifier=secrets.token_urlsafe(48))
    response = browser.get(url, allow_redirects=False)
    assert "error=invalid_request" in response.headers["Location"]

    client = _authorization_code_client(registered, token_endpoint_auth_method="none")
    token = authorize_with_pkce(hub, client, user.email)
    with hub.app.app_context():
        assert resolve_bearer_token(token["access_token"]).app_id == app.id


def test_a_wrong_code_verifier_is_invalid_grant(hub, session, developer):
    user, organisation = developer
    app = make_developer_app(session, organisation, client_type="public",
                             redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    client = _authorization_code_client(registered, token_endpoint_auth_method="none")
    url, _ = client.create_authorization_url(hub.endpoint("/oauth/authorize"),
                                             code_verifier=secrets.token_urlsafe(48))
    redirect = sign_in_and_consent(requests.Session(), url, user.email)
    with pytest.raises(Exception, match="invalid_grant"):
        client.fetch_token(hub.endpoint("/oauth/token"), authorization_response=redirect,
                           code_verifier=secrets.token_urlsafe(48))


def test_denying_consent_returns_access_denied(hub, session, developer):
    user, organisation = developer
    app = make_developer_app(session, organisation, redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    client = _authorization_code_client(registered)
    url, _ = client.create_authorization_url(hub.endpoint("/oauth/authorize"),
                                             code_verifier=secrets.token_urlsafe(48))
    redirect = sign_in_and_consent(requests.Session(), url, user.email, allow=False)
    assert redirect.startswith(CALLBACK)
    assert "error=access_denied" in redirect


def test_introspection_and_revocation(hub, session, developer):
    user, organisation = developer
    app = make_developer_app(session, organisation, redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    client = _authorization_code_client(registered)
    token = authorize_with_pkce(hub, client, user.email)
    introspect = hub.endpoint("/oauth/introspect")
    body = client.introspect_token(introspect, token=token["access_token"]).json()
    assert body["active"] is True
    assert body["client_id"] == registered.client.client_id
    assert body["sub"] == str(user.id)
    body = client.introspect_token(introspect, token=token["refresh_token"],
                                   token_type_hint="refresh_token").json()
    assert body["active"] is True

    revoke = hub.endpoint("/oauth/revoke")
    assert client.revoke_token(revoke, token=token["access_token"]).status_code == 200
    assert client.revoke_token(revoke, token=token["refresh_token"],
                               token_type_hint="refresh_token").status_code == 200
    assert client.introspect_token(introspect, token=token["access_token"]).json() == {
        "active": False}
    assert client.introspect_token(introspect, token=token["refresh_token"]).json() == {
        "active": False}
    with hub.app.app_context():
        assert resolve_bearer_token(token["access_token"]) is None
    response = requests.post(hub.endpoint("/oauth/token"), timeout=10,
                             data={"grant_type": "refresh_token",
                                   "refresh_token": token["refresh_token"]},
                             auth=(registered.client.client_id, registered.secret))
    assert response.json()["error"] == "invalid_grant"


def test_a_client_cannot_introspect_another_clients_token(hub, session, developer):
    app = make_developer_app(session, developer[1])
    mine, theirs = make_client(session, app), make_client(session, make_developer_app(session))
    session.commit()
    token = OAuth2Session(theirs.client.client_id, theirs.secret).fetch_token(
        hub.endpoint("/oauth/token"), grant_type="client_credentials")
    body = OAuth2Session(mine.client.client_id, mine.secret).introspect_token(
        hub.endpoint("/oauth/introspect"), token=token["access_token"]).json()
    assert body == {"active": False}

