"""Signing keys are encrypted at rest, survive a restart, and old plain rows are upgraded."""

import base64
import json

import pytest
import sqlalchemy as sa
from joserfc.jwk import RSAKey

from app.oauth.keystore import KeyStoreError, is_sealed, unseal
from app.oauth.models import SigningKey
from app.oauth.tokens import ensure_signing_key, resolve_bearer_token
from tests.factories.accounts import sibling_app

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def _token(client, registered):
    basic = base64.b64encode(f"{registered.client.client_id}:{registered.secret}".encode())
    response = client.post("/oauth/token", data={"grant_type": "client_credentials",
                                                  "scope": "transit:read"},
                           headers={"Authorization": "Basic " + basic.decode()})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


def _stored(session):
    """The raw text of the private key column, as the database holds it."""
    return session.execute(sa.text("SELECT kid, private_jwk FROM oauth_signing_key")).all()


def test_the_stored_private_key_is_ciphertext(client, session, registered):
    _token(client, registered)
    key = session.scalar(sa.select(SigningKey))
    private = unseal(key.private_jwk, key.kid)
    assert {"d", "p", "q"} <= set(private)
    for _, raw in _stored(session):
        text = raw if isinstance(raw, str) else json.dumps(raw)
        assert "BEGIN" not in text
        assert not any(f'"{member}"' in text for member in PRIVATE_MEMBERS)
        assert private["d"] not in text
        assert private["p"] not in text
        assert json.loads(text)["sealed"] == "A256GCM"


def test_tokens_verify_and_sign_after_a_restart(client, session, registered, make_app,
                                                 redis_url):
    before = _token(client, registered)
    restarted = sibling_app(make_app, session, SECRET_KEY="test-secret-key",
                            BASE_URL="http://localhost", REDIS_URL=redis_url)
    with restarted.app_context():
        assert resolve_bearer_token(before).app_id == registered.client.app_id
    after = _token(restarted.test_client(), registered)
    assert resolve_bearer_token(after) is not None  # signed by the restart, verified here


def test_another_encryption_secret_cannot_sign(client, session, registered, make_app,
                                               redis_url):
    _token(client, registered)
    stranger = sibling_app(make_app, session, SECRET_KEY="test-secret-key",
                           BASE_URL="http://localhost", REDIS_URL=redis_url,
                           OAUTH_KEY_ENCRYPTION_SECRET="another-secret")
    key = session.scalar(sa.select(SigningKey))
    with stranger.app_context(), pytest.raises(KeyStoreError, match="does not decrypt"):
        unseal(key.private_jwk, key.kid)


def test_a_plain_key_row_from_before_sealing_keeps_signing_and_is_sealed(
        client, session, registered):
    legacy = RSAKey.generate_key(2048, parameters={"kid": "legacy-1", "alg": "RS256",
                                                    "use": "sig"})
    session.add(SigningKey(kid="legacy-1", algorithm="RS256",
                           private_jwk=legacy.as_dict(private=True),
                           public_jwk=legacy.as_dict(private=False), status="active"))
    session.commit()
    assert ensure_signing_key(session).kid == "legacy-1"
    token = _token(client, registered)
    assert resolve_bearer_token(token) is not None
    session.expire_all()
    row = session.scalar(sa.select(SigningKey).where(SigningKey.kid == "legacy-1"))
    assert is_sealed(row.private_jwk)
    assert unseal(row.private_jwk, row.kid)["d"] == legacy.as_dict(private=True)["d"]


def test_the_cli_seals_plain_rows(mobihub, session):
    legacy = RSAKey.generate_key(2048, parameters={"kid": "legacy-2"})
    session.add(SigningKey(kid="legacy-2", algorithm="RS256",
                           private_jwk=legacy.as_dict(private=True),
                           public_jwk=legacy.as_dict(private=False), status="retiring"))
    session.commit()
    result = mobihub("oauth", "keys", "seal")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 signing key(s) sealed"
    session.expire_all()
    assert is_sealed(session.scalar(sa.select(SigningKey.private_jwk)))
