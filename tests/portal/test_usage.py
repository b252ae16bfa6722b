"""The usage page shows ledger and not-yet-flushed calls, errors, 429s and quota."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import App
from app.accounts.services import now
from app.gateway import keys
from app.gateway.hook import get_gateway
from billing.ledger import LedgerDelta, apply_deltas
from tests.portal.factories import create_app_via_page, create_key_via_page, sign_up


def test_usage_page_shows_calls_errors_rejections_and_quota(
        app: Flask, client: FlaskClient, session, redis) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    org_id = session.get(App, app_id).organisation_id
    minute = now().replace(second=0, microsecond=0)
    apply_deltas(session, [LedgerDelta(app_id, org_id, "transit", "2xx", minute, 7, 0),
                           LedgerDelta(app_id, org_id, "transit", "4xx", minute, 2, 3)])
    bucket = keys.bucket_key(app_id, int(minute.timestamp()) // 60)
    redis.hset(bucket, mapping={keys.ORG_FIELD: org_id,
                                keys.field("transit", "2xx", keys.ADMITTED): 4})
    redis.set(keys.quota_key(app_id, "transit", minute.strftime("%Y%m")), 13)

    page = client.get(f"/developer/apps/{app_id}/usage").get_data(as_text=True)

    assert '<strong class="calls">13</strong> calls, 2 errors, 3 rejected (429)' in page
    assert '<progress id="quota-transit" max="10000" value="13">' in page
    assert "<svg" in page
    assert "Calls per hour" in page


def test_usage_page_says_when_there_are_no_calls(app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)

    page = client.get(f"/developer/apps/{app_id}/usage").get_data(as_text=True)

    assert "No calls in the last 7 days" in page
    assert "<svg" not in page


def test_usage_page_lists_the_last_calls_with_their_status_codes(
        app: Flask, client: FlaskClient) -> None:
    sign_up(client, app=app)
    app_id = create_app_via_page(client)
    key = create_key_via_page(client, app_id)
    headers = {"X-API-Key": key}
    assert client.get("/transit/v1/stops?lat=50.85&lon=4.35&radius=500",
                      headers=headers).status_code == 200
    assert client.get("/transit/v1/stops/nowhere:nothing", headers=headers).status_code == 404
    # Workers report the last calls with their next batch (a background thread in a server).
    assert get_gateway(app).recorder.drain()

    page = client.get(f"/developer/apps/{app_id}/usage").get_data(as_text=True)

    assert "<code>GET /transit/v1/stops/nowhere:nothing</code>" in page
    assert '<span class="badge s4">404</span>' in page
    assert "<code>GET /transit/v1/stops</code>" in page
    assert '<span class="badge s2">200</span>' in page
    assert page.index("nowhere:nothing") < page.index("<code>GET /transit/v1/stops</code>")
