"""The ``mobihub orgs``, ``apps``, ``keys`` and ``oauth clients`` commands, and the demo step."""

import json

import pytest

from app.accounts.keys import parse_key
from app.accounts.resolver import resolve_api_key
from app.accounts.services import OPERATOR, get_api_key
from tests.factories.accounts import make_api_key, make_developer_app, make_organisation


def test_orgs_create_makes_the_owner(mobihub, session):
    result = mobihub("orgs", "create", "Acme Mobility", "--owner", "Ops@Acme.example", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["owner"] == "ops@acme.example"
    again = mobihub("orgs", "create", "Acme Mobility", "--owner", "ops@acme.example")
    assert again.exit_code == 1
    assert "exists" in again.output


def test_orgs_create_refuses_a_bad_email(mobihub):
    result = mobihub("orgs", "create", "Acme", "--owner", "not-an-email")
    assert result.exit_code == 1
    assert "not an email address" in result.output


def test_apps_create_then_keys_create_prints_a_working_key_once(mobihub, session):
    assert mobihub("orgs", "create", "Beta", "--owner", "b@beta.example").exit_code == 0
    created = mobihub("apps", "create", "Beta app", "--org", "Beta", "--json")
    assert created.exit_code == 0, created.output
    app_id = json.loads(created.output)["id"]
    result = mobihub("keys", "create", "--app", "Beta app", "--plan", "standard", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["subscriptions"] == {"parking": "standard", "transit": "standard"}
    identity = resolve_api_key(body["key"])
    assert identity.app_id == app_id
    assert identity.subscriptions["transit"].plan == "standard"
    listed = mobihub("keys", "list", "--app", str(app_id))
    assert body["key_id"] in listed.output
    assert body["key"] not in listed.output


def test_keys_create_by_an_ambiguous_name_asks_for_the_id(mobihub, session):
    make_developer_app(session, name="Twin")
    make_developer_app(session, name="Twin")
    result = mobihub("keys", "create", "--app", "Twin")
    assert result.exit_code == 1
    assert "use the id" in result.output


def test_keys_rotate_and_revoke(mobihub, session, app, monkeypatch):
    raw = make_api_key(session)
    key_id = parse_key(raw).key_id
    rotated = mobihub("keys", "rotate", key_id, "--overlap", "0", "--json")
    assert rotated.exit_code == 0, rotated.output
    new_raw = json.loads(rotated.output)["key"]
    assert resolve_api_key(raw) is None
    assert resolve_api_key(new_raw) is not None
    revoked = mobihub("keys", "revoke", parse_key(new_raw).key_id)
    assert revoked.exit_code == 0
    assert resolve_api_key(new_raw) is None


def test_keys_commands_refuse_a_malformed_key_id(mobihub):
    result = mobihub("keys", "revoke", "mob_live_short_secretpart")
    assert result.exit_code == 1
    assert "not a key id" in result.output


@pytest.fixture
def two_organisations(session):
    _org_a, user_a = make_organisation(session)
    org_b, _ = make_organisation(session)
    app_b = make_developer_app(session, org_b, name="B only")
    key_b = parse_key(make_api_key(session, app_b)).key_id
    session.commit()
    return user_a, org_b, app_b, key_b


@pytest.mark.parametrize("command", [
    ["keys", "create", "--app", "{app}"],
    ["keys", "create", "--app", "B only"],
    ["keys", "list", "--app", "{app}"],
    ["keys", "rotate", "{key}"],
    ["keys", "revoke", "{key}"],
    ["apps", "create", "Intruder", "--org", "{org}"],
    ["apps", "list", "--org", "{org}"],
    ["orgs", "add-member", "{org}", "--email", "x@example.org"],
    ["oauth", "clients", "create", "--app", "{app}"],
    ["oauth", "clients", "list", "--app", "{app}"],
])
def test_a_user_cannot_touch_another_organisation_through_the_cli(
        mobihub, session, two_organisations, command):
    user_a, org_b, app_b, key_b = two_organisations
    args = [part.format(app=app_b.id, key=key_b, org=org_b.id) for part in command]
    result = mobihub(*args, "--as-user", user_a.email)
    assert result.exit_code == 1
    assert "No such" in result.output
    key = get_api_key(session, OPERATOR, key_b)
    assert key.revoked_at is None
    assert key.expires_at is None


def test_a_member_acts_on_their_own_organisation_through_the_cli(mobihub, session):
    org, owner = make_organisation(session)
    session.commit()
    result = mobihub("apps", "create", "Mine", "--org", str(org.id), "--as-user", owner.email)
    assert result.exit_code == 0, result.output
    assert mobihub("keys", "create", "--app", "Mine", "--as-user", owner.email).exit_code == 0


def test_oauth_clients_create_prints_id_and_secret_once(mobihub, session):
    app = make_developer_app(session)
    session.commit()
    result = mobihub("oauth", "clients", "create", "--app", str(app.id), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["client_id"].startswith("mobc_")
    assert body["client_secret"].startswith("mobs_")
    listed = mobihub("oauth", "clients", "list", "--app", str(app.id)).output
    assert body["client_id"] in listed
    assert body["client_secret"] not in listed


def test_demo_prints_a_working_key_once_and_is_idempotent(mobihub):
    first = mobihub("demo")
    assert first.exit_code == 0, first.output
    line = next(x for x in first.output.splitlines() if x.startswith("API key"))
    raw = line.rsplit(" ", 1)[-1]
    assert resolve_api_key(raw) is not None
    assert f"X-API-Key: {raw}" in first.output
    second = mobihub("demo")
    assert second.exit_code == 0, second.output
    assert raw not in second.output
    assert "has API key" in second.output
    assert "mobihub keys create --app" in second.output
