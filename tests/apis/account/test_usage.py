"""GET /account/v1/usage: an organisation's metered calls by hour or day, own organisation only."""

from datetime import UTC, datetime

from billing.ledger import LedgerDelta, apply_deltas
from tests.support.gateway import make_developer

URL = "/account/v1/usage"
DAY = datetime(2026, 3, 14, tzinfo=UTC)


def record(session, developer, product, status_class, hour, minute, admitted, rejected=0):
    apply_deltas(session, [LedgerDelta(developer.app_id, developer.organisation_id, product,
                                       status_class, DAY.replace(hour=hour, minute=minute),
                                       admitted, rejected)])


def test_usage_needs_a_credential(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_usage_by_hour_sums_minutes_and_lists_status_classes(client, session):
    developer = make_developer(session)
    record(session, developer, "parking", "2xx", 9, 1, 5)
    record(session, developer, "parking", "2xx", 9, 59, 2)
    record(session, developer, "parking", "4xx", 9, 30, 1, rejected=3)
    record(session, developer, "parking", "2xx", 10, 0, 4)
    response = client.get(URL, headers=developer.headers, query_string={
        "granularity": "hour", "start": "2026-03-14T00:00:00+00:00",
        "end": "2026-03-15T00:00:00+00:00"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["totals"] == {"admitted": 12, "rejected": 3}
    assert [(i["period_start"], i["admitted"], i["rejected"], i["status_classes"])
            for i in body["items"]] == [
        ("2026-03-14T09:00:00+00:00", 8, 3, {"2xx": 7, "4xx": 1}),
        ("2026-03-14T10:00:00+00:00", 4, 0, {"2xx": 4}),
    ]


def test_usage_by_day_covers_every_app_of_the_organisation_only(client, session):
    developer = make_developer(session)
    stranger = make_developer(session)
    record(session, developer, "parking", "2xx", 9, 0, 5)
    record(session, developer, "transit", "2xx", 23, 59, 1)
    record(session, stranger, "parking", "2xx", 9, 0, 100)
    response = client.get(URL, headers=developer.headers, query_string={
        "start": "2026-03-01T00:00:00+01:00", "end": "2026-04-01T00:00:00+02:00"})
    body = response.get_json()
    assert body["organisation_id"] == developer.organisation_id
    assert {(i["app_id"], i["product"], i["admitted"]) for i in body["items"]} == {
        (developer.app_id, "parking", 5), (developer.app_id, "transit", 1)}
    assert all(i["period_start"] == "2026-03-14T00:00:00+00:00" for i in body["items"])


def test_app_of_another_organisation_is_404(client, session):
    developer = make_developer(session)
    stranger = make_developer(session)
    response = client.get(URL, headers=developer.headers,
                          query_string={"app_id": stranger.app_id})
    assert response.status_code == 404
    own = client.get(URL, headers=developer.headers, query_string={"app_id": developer.app_id})
    assert own.status_code == 200


def test_range_too_long_or_reversed_is_422(client, session):
    developer = make_developer(session)
    for query in ({"granularity": "hour", "start": "2026-01-01T00:00:00Z",
                   "end": "2026-03-01T00:00:00Z"},
                  {"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
                  {"start": "2026-03-02T00:00:00"}):  # no offset
        response = client.get(URL, headers=developer.headers, query_string=query)
        assert response.status_code == 422, query
