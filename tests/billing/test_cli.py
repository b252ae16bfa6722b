"""``mobihub usage flush`` and ``mobihub usage show``."""

import json

from tests.support.gateway import make_developer, make_plan

PROBE = "/parking/v1/probe"


def test_usage_show_counts_flushed_and_unflushed_calls(hub, hub_client, session, mobihub):
    developer = make_developer(session, plan=make_plan(session, quota=3))
    for _ in range(5):
        hub_client.get(PROBE, headers=developer.headers)
    result = mobihub("usage", "show", "--app", str(developer.app_id), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["admitted"], data["rejected"]) == (3, 2)
    assert data["unflushed"] == {"admitted": 3, "rejected": 2}
    flushed = mobihub("usage", "flush")
    assert flushed.exit_code == 0
    assert "3 admitted, 2 rejected" in flushed.output
    data = json.loads(mobihub("usage", "show", "--app", str(developer.app_id), "--json").output)
    assert (data["admitted"], data["rejected"]) == (3, 2)
    assert data["unflushed"] == {"admitted": 0, "rejected": 0}


def test_usage_show_refuses_apps_outside_the_users_organisations(session, mobihub):
    import sqlalchemy as sa

    from app.accounts.models import Membership, User

    developer = make_developer(session)
    stranger = make_developer(session)
    stranger_email = session.scalar(sa.select(User.email).join(
        Membership, Membership.user_id == User.id).where(
        Membership.organisation_id == stranger.organisation_id))
    session.flush()
    result = mobihub("usage", "show", "--app", str(developer.app_id), "--as-user",
                     stranger_email)
    assert result.exit_code == 1
    assert "No such app" in result.output
    own = mobihub("usage", "show", "--app", str(stranger.app_id), "--as-user", stranger_email)
    assert own.exit_code == 0
    assert "0 admitted, 0 rejected" in own.output


def test_usage_show_of_unknown_app_exits_1(mobihub):
    result = mobihub("usage", "show", "--app", "999999")
    assert result.exit_code == 1
