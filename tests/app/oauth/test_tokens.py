"""Signing key rotation, JWKS contents, and the token endpoint's brute-force throttle."""

import base64

from app.oauth.tokens import (
    public_jwks,
    resolve_bearer_token,
    retire_signing_key,
    rotate_signing_keys,
)
from tests.factories.accounts import make_developer_app
from tests.factories.clock import FakeClock
from tests.factories.oauth import make_client


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _token(client, registered, scope="transit:read"):
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                  "scope": scope},
                           headers=_basic(registered.client.client_id, registered.secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def test_jwks_serves_public_keys_only(client, session):
    body = client.get("/oauth/jwks.json").get_json()
    assert body["keys"]
    for key in body["keys"]:
        assert key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_a_token_of_the_previous_key_verifies_until_that_key_is_retired(
        client, session, registered):
    old_token = _token(client, registered)
    old_kid = public_jwks(session)["keys"][0]["kid"]
    rotate_signing_keys(session)
    session.commit()
    new_token = _token(client, registered)
    kids = [k["kid"] for k in client.get("/oauth/jwks.json").get_json()["keys"]]
    assert old_kid in kids
    assert len(kids) == 2
    assert resolve_bearer_token(old_token) is not None
    assert resolve_bearer_token(new_token) is not None
    retire_signing_key(session, old_kid)
    session.commit()
    assert resolve_bearer_token(old_token) is None
    assert resolve_bearer_token(new_token) is not None
    assert old_kid not in [k["kid"] for k in client.get("/oauth/jwks.json").get_json()["keys"]]


def test_an_expired_or_tampered_token_is_refused(app, client, session, registered, monkeypatch):
    token = _token(client, registered)
    header, payload, signature = token.split(".")
    assert resolve_bearer_token(f"{header}.{payload}x.{signature}") is None
    assert resolve_bearer_token("not.a.jwt") is None
    clock = FakeClock()
    monkeypatch.setitem(app.config, "CLOCK", clock)
    clock.current = clock.current.replace(year=2100)
    assert resolve_bearer_token(token) is None


def test_a_scope_outside_the_subscriptions_is_refused(client, session):
    unsubscribed = make_client(session, make_developer_app(session, subscribe=False))
    session.commit()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                  "scope": "transit:read"},
                           headers=_basic(unsubscribed.client.client_id, unsubscribed.secret))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_the_token_endpoint_throttles_repeated_failures(app, client, registered, monkeypatch):
    monkeypatch.setitem(app.config, "OAUTH_MAX_FAILURES", 3)
    wrong = _basic(registered.client.client_id, "guess")
    for _ in range(3):
        response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=wrong)
        assert response.status_code == 401
    throttled = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                            headers=_basic(registered.client.client_id, registered.secret))
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.mimetype == "application/problem+json"


def test_successful_requests_do_not_count_towards_the_throttle(app, client, registered,
                                                               monkeypatch):
    monkeypatch.setitem(app.config, "OAUTH_MAX_FAILURES", 2)
    for _ in range(4):
        _token(client, registered)


def test_secrets_are_stored_hashed(session, registered):
    from app.oauth.models import OAuthClient, sha256_hex

    row = session.get(OAuthClient, registered.client.id)
    assert row.secret_sha256 == sha256_hex(registered.secret)
    assert registered.secret not in repr(registered)


def test_a_refresh_token_knows_its_client(session, registered):
    from datetime import timedelta

    from app.accounts.services import now
    from app.oauth.models import RefreshToken, sha256_hex

    issued = now()
    token = RefreshToken(token_sha256=sha256_hex("refresh-secret"),
                         client_id=registered.client.client_id, scope="transit:read",
                         issued_at=issued, expires_at=issued + timedelta(days=1))
    session.add(token)
    session.flush()
    assert token.get_client().get_client_id() == registered.client.client_id
    assert token.check_client(token.get_client())
