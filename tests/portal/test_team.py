"""Team invitations end to end: the team page mails a link, the invitee accepts it."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.portal.factories import (
    create_app_via_page,
    link_in,
    mails_to,
    post_form,
    sign_up,
    unique_email,
)


def _org_path(browser: FlaskClient) -> str:
    return browser.get("/developer/").headers["Location"]


def _invite(app: Flask, owner: FlaskClient, address: str, role: str = "developer") -> str:
    """Invite ``address`` from the owner's team page; the path of the mailed link."""
    org_path = _org_path(owner)
    response = post_form(owner, f"{org_path}/invitations", {"email": address, "role": role},
                         form_page=f"{org_path}/team")
    assert response.status_code == 302, response.get_data(as_text=True)
    [message] = mails_to(app, address)
    return link_in(message)


def test_an_invited_developer_accepts_the_mailed_link_and_is_listed_as_a_member(
        app: Flask) -> None:
    owner = app.test_client()
    sign_up(owner, app=app, organisation="Harbour Transit")
    org_path = _org_path(owner)
    create_app_via_page(owner, "Shared timetable")
    newcomer_address = unique_email("newcomer")
    link = _invite(app, owner, newcomer_address, role="admin")
    assert newcomer_address in owner.get(f"{org_path}/team").get_data(as_text=True)
    newcomer = app.test_client()
    sign_up(newcomer, newcomer_address, app=app)

    invitation_page = newcomer.get(link).get_data(as_text=True)
    response = post_form(newcomer, link, {})

    assert "Join Harbour Transit" in invitation_page
    assert response.status_code == 302
    assert response.headers["Location"] == org_path
    joined = newcomer.get(org_path).get_data(as_text=True)
    assert "Shared timetable" in joined
    team = owner.get(f"{org_path}/team").get_data(as_text=True)
    assert re.search(rf"<td>{re.escape(newcomer_address)}</td>\s*<td>admin</td>", team)
    assert "No open invitations." in team


def test_an_invitation_link_works_once(app: Flask) -> None:
    owner = app.test_client()
    sign_up(owner, app=app)
    address = unique_email("invitee")
    link = _invite(app, owner, address)
    invitee = app.test_client()
    sign_up(invitee, address, app=app)
    assert post_form(invitee, link, {}).status_code == 302

    again = invitee.get(link)

    assert again.status_code == 400


def test_an_invitation_cannot_be_accepted_by_another_account(app: Flask) -> None:
    owner = app.test_client()
    sign_up(owner, app=app)
    org_path = _org_path(owner)
    link = _invite(app, owner, unique_email("invitee"))
    intruder = app.test_client()
    intruder_address = sign_up(intruder, app=app)

    page = intruder.get(link).get_data(as_text=True)
    response = post_form(intruder, link, {})

    assert f"You are logged in as {intruder_address}" in page
    assert response.status_code == 403
    assert intruder.get(org_path).status_code == 404
    assert intruder_address not in owner.get(f"{org_path}/team").get_data(as_text=True)


def test_an_anonymous_visitor_of_an_invitation_is_asked_to_log_in_first(
        app: Flask, client: FlaskClient) -> None:
    owner = app.test_client()
    sign_up(owner, app=app, organisation="Ferry Data Co")
    link = _invite(app, owner, unique_email("invitee"))

    page = client.get(link).get_data(as_text=True)

    assert "Join Ferry Data Co" in page
    assert "Log in to accept" in page
