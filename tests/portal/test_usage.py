"""The usage page shows ledger and not-yet-flushed calls, errors, 429s and quota."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.accounts.models import App
from app.accounts.services import now
from app.gateway import keys
from billing.ledger import LedgerDelta, apply_deltas
from tests.portal.factories import create_app_via_page, sign_up


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
