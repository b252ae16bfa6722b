"""Refresh token reuse revokes the whole lineage (RFC 9700 section 4.14.2), end to end."""


import pytest
import requests
import sqlalchemy as sa
from authlib.integrations.requests_client import OAuth2Session

from app.oauth.models import RefreshToken
from tests.factories.accounts import make_developer_app, make_organisation, make_user
from tests.factories.oauth import CALLBACK, authorize_with_pkce, make_client, serve_hub


@pytest.fixture
def hub(make_app, session, redis_url):
    with serve_hub(make_app, session, REDIS_URL=redis_url) as live:
        yield live


def _grant(hub, session):
    """A confidential client holding a fresh authorization-code grant's tokens."""
    user = make_user(session)
    organisation, _ = make_organisation(session, owner=user)
    app = make_developer_app(session, organisation, redirect_uris=[CALLBACK])
    registered = make_client(session, app)
    session.commit()
    client = OAuth2Session(registered.client.client_id, registered.secret, redirect_uri=CALLBACK,
                           scope="transit:read", code_challenge_method="S256")
    return registered, authorize_with_pkce(hub, client, user.email)


def _refresh(hub, registered, refresh_token):
    return requests.post(hub.endpoint("/oauth/token"), timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=(registered.client.client_id, registered.secret))


def test_reusing_a_rotated_refresh_token_revokes_its_active_descendant(hub, session):
    registered, first = _grant(hub, session)
    second = _refresh(hub, registered, first["refresh_token"]).json()
    third = _refresh(hub, registered, second["refresh_token"]).json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3

    # The first token comes back (stolen, or replayed by its owner): refused, lineage revoked.
    reused = _refresh(hub, registered, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    newest = _refresh(hub, registered, third["refresh_token"])
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"
    introspected = requests.post(hub.endpoint("/oauth/introspect"), timeout=10,
                                 data={"token": third["refresh_token"],
                                       "token_type_hint": "refresh_token"},
                                 auth=(registered.client.client_id, registered.secret)).json()
    assert introspected["active"] is False


def test_reuse_revokes_only_its_own_lineage(hub, session):
    registered, first = _grant(hub, session)
    other_client, other = _grant(hub, session)
    rotated = _refresh(hub, registered, first["refresh_token"]).json()
    assert _refresh(hub, registered, first["refresh_token"]).status_code == 400
    assert _refresh(hub, registered, rotated["refresh_token"]).status_code == 400
    assert _refresh(hub, other_client, other["refresh_token"]).status_code == 200
    session.expire_all()
    lineages = session.scalars(sa.select(RefreshToken.family_id).distinct()).all()
    assert len(lineages) == 2
