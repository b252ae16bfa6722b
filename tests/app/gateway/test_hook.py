"""The gateway on API product requests: 401, 403, 429, RateLimit fields, public paths."""

from app.gateway import keys
from billing.metering import pending_calls
from tests.support.gateway import make_developer, make_plan

PROBE = "/parking/v1/probe"


def test_public_paths_need_no_credential(hub_client):
    for path in ("/healthz", "/catalog/v1/products", "/openapi/parking.v1.json"):
        assert hub_client.get(path).status_code == 200, path


def test_missing_credential_is_401_problem_with_challenge_and_no_ratelimit_fields(hub_client):
    response = hub_client.get(PROBE)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/unauthenticated")
    assert "Bearer" in response.headers["WWW-Authenticate"]
    # No caller, so no policy applies (docs/gateway.md): the fields would describe nothing.
    assert "RateLimit-Policy" not in response.headers
    assert "RateLimit" not in response.headers


def test_unknown_key_is_401_invalid_credential(hub_client, developer):
    forged = developer.key[:-8] + "AAAAAAAA"
    for headers in ({"X-API-Key": forged}, {"Authorization": "Bearer not-a-token"}):
        response = hub_client.get(PROBE, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["type"].endswith("/invalid-credential")


def test_valid_key_is_admitted_with_ratelimit_fields(hub_client, session):
    plan = make_plan(session, rps=10, burst=20, quota=1000)
    developer = make_developer(session, plan=plan)
    response = hub_client.get(PROBE, headers=developer.headers)
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    # draft-ietf-httpapi-ratelimit-headers-09: named policies with q/w, state with r/t
    assert response.headers["RateLimit-Policy"] == '"rate";q=20;w=2, "month";q=1000;w=2678400'
    state = response.headers["RateLimit"]
    assert state.startswith('"rate";r=19;t=')
    assert '"month";r=999;' in state


def test_app_not_subscribed_to_product_is_403_and_counted_rejected(hub_client, developer, redis):
    response = hub_client.get("/transit/v1/probe", headers=developer.headers)
    assert response.status_code == 403
    assert response.get_json()["type"].endswith("/subscription-required")
    assert pending_calls(redis, developer.app_id) == {"admitted": 0, "rejected": 1}


def test_key_without_product_scope_is_403_insufficient_scope(hub_client, session):
    developer = make_developer(session, products=("parking", "transit"), plan=make_plan(session),
                               scopes=("transit:read",))
    response = hub_client.get(PROBE, headers=developer.headers)
    assert response.status_code == 403
    assert response.get_json()["type"].endswith("/insufficient-scope")
    assert hub_client.get("/transit/v1/probe", headers=developer.headers).status_code == 200


def test_403_under_a_plan_reports_the_limits_without_consuming_them(hub_client, session, redis):
    developer = make_developer(session, plan=make_plan(session, rps=1, burst=5, quota=100),
                               scopes=("transit:read",))
    refused = [hub_client.get(PROBE, headers=developer.headers) for _ in range(2)]
    assert [r.status_code for r in refused] == [403, 403]
    for response in refused:
        assert response.headers["RateLimit-Policy"] == '"rate";q=5;w=5, "month";q=100;w=2678400'
        assert response.headers["RateLimit"].startswith('"rate";r=5;t=0, "month";r=100;t=')
    assert pending_calls(redis, developer.app_id) == {"admitted": 0, "rejected": 2}


def test_403_without_a_subscription_has_no_policy_to_report(hub_client, developer):
    response = hub_client.get("/transit/v1/probe", headers=developer.headers)
    assert response.status_code == 403
    assert "RateLimit-Policy" not in response.headers


def test_burst_then_429_with_retry_after_and_rejections_not_consuming_quota(
        hub_client, session, redis):
    developer = make_developer(session, plan=make_plan(session, rps=1, burst=3, quota=100))
    statuses = [hub_client.get(PROBE, headers=developer.headers).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429, 429]
    limited = hub_client.get(PROBE, headers=developer.headers)
    assert limited.mimetype == "application/problem+json"
    assert limited.get_json()["type"].endswith("/rate-limited")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit"].startswith('"rate";r=0;')
    quota_keys = list(redis.scan_iter(match=keys.tag(developer.app_id) + ":q:*"))
    assert [int(redis.get(k)) for k in quota_keys] == [3]
    assert pending_calls(redis, developer.app_id) == {"admitted": 3, "rejected": 4}


def test_monthly_quota_is_exact_and_429_says_quota_exceeded(hub_client, session):
    developer = make_developer(session, plan=make_plan(session, quota=5))
    statuses = [hub_client.get(PROBE, headers=developer.headers).status_code for _ in range(8)]
    assert statuses.count(200) == 5
    response = hub_client.get(PROBE, headers=developer.headers)
    assert response.status_code == 429
    assert response.get_json()["type"].endswith("/quota-exceeded")
    assert '"month";r=0;' in response.headers["RateLimit"]


def test_status_class_is_recorded_after_the_view(hub, hub_client, developer, redis):
    for status in (200, 201, 404, 500, 503):
        assert hub_client.get(f"{PROBE}/status/{status}",
                              headers=developer.headers).status_code == status
    before = {k.decode(): int(v) for k, v in
              redis.hgetall(next(redis.scan_iter(match=keys.tag(developer.app_id) + ":u:*")))
              .items() if k != b"org"}
    assert before == {"parking|unknown|a": 5}  # counted at admission, class not sent yet
    assert hub.extensions["mobihub.gateway"].recorder.drain()
    bucket = next(redis.scan_iter(match=keys.tag(developer.app_id) + ":u:*"))
    fields = {k.decode(): int(v) for k, v in redis.hgetall(bucket).items()}
    assert fields == {"org": developer.organisation_id, "parking|unknown|a": 0,
                      "parking|2xx|a": 2, "parking|4xx|a": 1, "parking|5xx|a": 2}


def test_unknown_path_under_a_product_is_metered_as_4xx(hub, hub_client, developer, redis):
    assert hub_client.get("/parking/v1/no-such-thing",
                          headers=developer.headers).status_code == 404
    assert hub.extensions["mobihub.gateway"].recorder.drain()
    assert pending_calls(redis, developer.app_id) == {"admitted": 1, "rejected": 0}


def test_revoked_key_stops_working_once_the_caches_expire(hub, hub_client, session, developer):
    from app.accounts import services as accounts

    assert hub_client.get(PROBE, headers=developer.headers).status_code == 200
    key_id = developer.key.rsplit("_", 1)[0]
    accounts.revoke_api_key(session, accounts.OPERATOR, key_id)
    session.flush()
    hub.extensions["mobihub.gateway"].identities.clear()  # the gateway cache TTL has passed
    hub.extensions["mobihub.credential_cache"].clear()  # and the accounts one
    assert hub_client.get(PROBE, headers=developer.headers).status_code == 401


def test_jwt_access_token_from_client_credentials_is_admitted_and_metered(
        hub, hub_client, session, developer, redis):
    from app.accounts import services as accounts
    from app.oauth.services import create_client

    registered = create_client(session, accounts.OPERATOR, developer.app_id)
    session.flush()
    token = hub_client.post("/oauth/token", data={
        "grant_type": "client_credentials", "scope": "parking:read"},
        auth=(registered.client.client_id, registered.secret))
    assert token.status_code == 200, token.get_json()
    bearer = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    response = hub_client.get(PROBE, headers=bearer)
    assert response.status_code == 200
    assert "RateLimit" in response.headers
    assert hub.extensions["mobihub.gateway"].recorder.drain()
    assert pending_calls(redis, developer.app_id) == {"admitted": 1, "rejected": 0}
