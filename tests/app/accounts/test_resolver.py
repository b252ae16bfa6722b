"""``resolve_api_key``: identity for the gateway, cache, rotation, revocation and expiry."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts import services
from app.accounts.keys import checksum, generate_key, parse_key
from app.accounts.models import ApiKey
from app.accounts.resolver import resolve_api_key
from app.accounts.services import OPERATOR
from tests.factories.accounts import make_api_key, make_developer_app, sibling_app
from tests.factories.clock import FakeClock


@pytest.fixture
def clock(app, monkeypatch):
    clock = FakeClock()
    monkeypatch.setitem(app.config, "CLOCK", clock)
    return clock


class SelectCounter:
    """Counts SELECTs on the api_key table (a real event listener on the real engine)."""

    def __init__(self, connection):
        self.count = 0
        self.connection = connection

    def __call__(self, _conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "api_key" in statement:
            self.count += 1


def test_a_valid_key_resolves_to_its_app_organisation_and_plans(session, clock):
    app = make_developer_app(session, plan="standard")
    raw = make_api_key(session, app)
    identity = resolve_api_key(raw)
    assert identity.app_id == app.id
    assert identity.organisation_id == app.organisation_id
    assert identity.credential_id == parse_key(raw).key_id
    assert identity.credential_kind == "api_key"
    assert identity.environment == "live"
    assert identity.scopes == {"parking:read", "transit:read"}
    assert set(identity.subscriptions) == {"parking", "transit"}
    limits = identity.subscriptions["parking"]
    assert (limits.plan, limits.requests_per_second, limits.burst) == ("standard", 50, 100)
    assert (limits.monthly_quota, limits.price_per_1000_calls_minor, limits.currency) == (
        1_000_000, 40, "EUR")


def test_a_sandbox_app_gets_test_keys(session, clock):
    app = make_developer_app(session, environment="test")
    raw = make_api_key(session, app)
    assert raw.startswith("mob_test_")
    assert resolve_api_key(raw).environment == "test"


def test_a_key_scoped_narrower_carries_only_its_scopes(session, clock):
    raw = make_api_key(session, scopes=["transit:read"])
    assert resolve_api_key(raw).scopes == {"transit:read"}


def test_wrong_secret_unknown_key_and_garbage_resolve_to_none(session, clock):
    raw = make_api_key(session)
    other_raw, _ = generate_key("live")
    assert resolve_api_key(other_raw) is None  # well-formed, never issued
    assert resolve_api_key("not-a-key") is None
    assert resolve_api_key(None) is None
    # Same key id, another secret (with a valid checksum): refused.
    body = f"{parse_key(raw).key_id}_{'Z' * 24}"
    assert resolve_api_key(body + checksum(body)) is None


def test_key_record_is_read_from_sql_at_most_once_per_ttl(app, session, clock):
    raw = make_api_key(session)
    counter = SelectCounter(session.connection())
    sa.event.listen(session.connection(), "before_cursor_execute", counter)
    try:
        for _ in range(20):
            assert resolve_api_key(raw) is not None
        assert counter.count == 1
        clock.advance(app.config["KEY_CACHE_TTL_SECONDS"])
        assert resolve_api_key(raw) is not None
        assert counter.count == 2
    finally:
        sa.event.remove(session.connection(), "before_cursor_execute", counter)


def test_an_expired_key_is_refused(session, clock):
    raw = make_api_key(session, expires_at=clock() + timedelta(hours=1))
    assert resolve_api_key(raw) is not None
    clock.advance(3600)
    assert resolve_api_key(raw) is None


def test_rotation_keeps_the_old_key_valid_until_the_overlap_ends(session, clock):
    raw = make_api_key(session)
    old_id = parse_key(raw).key_id
    new = services.rotate_api_key(session, OPERATOR, old_id, overlap_seconds=600)
    assert new.key.replaces_key_id == old_id
    assert resolve_api_key(new.raw) is not None
    clock.advance(599)
    assert resolve_api_key(raw) is not None
    clock.advance(1)
    assert resolve_api_key(raw) is None
    assert resolve_api_key(new.raw) is not None


def test_revocation_is_immediate_on_the_worker_that_revoked(session, clock):
    raw = make_api_key(session)
    assert resolve_api_key(raw) is not None
    services.revoke_api_key(session, OPERATOR, parse_key(raw).key_id)
    assert resolve_api_key(raw) is None


def test_revocation_reaches_another_worker_within_the_epoch_check(
        app, session, clock, make_app, redis_url):
    raw = make_api_key(session)
    other = sibling_app(make_app, session, REDIS_URL=redis_url, CLOCK=clock)
    with other.app_context():
        assert resolve_api_key(raw) is not None  # cached on the other worker
    services.revoke_api_key(session, OPERATOR, parse_key(raw).key_id)
    clock.advance(other.config["REVOCATION_CHECK_SECONDS"])
    with other.app_context():
        assert resolve_api_key(raw) is None


def test_without_redis_revocation_still_reaches_other_workers_within_the_ttl(
        app, session, clock, make_app):
    raw = make_api_key(session)
    # Port 1 on loopback: this worker's Redis is unreachable, so only the TTL bounds it.
    other = sibling_app(make_app, session, REDIS_URL="redis://127.0.0.1:1/0", CLOCK=clock)
    with other.app_context():
        assert resolve_api_key(raw) is not None
    services.revoke_api_key(session, OPERATOR, parse_key(raw).key_id)
    with other.app_context():
        clock.advance(other.config["KEY_CACHE_TTL_SECONDS"] - 1)
        assert resolve_api_key(raw) is not None  # stale, inside the documented bound
        clock.advance(1)
        assert resolve_api_key(raw) is None


def test_plan_change_reaches_the_identity(session, clock):
    app = make_developer_app(session)
    raw = make_api_key(session, app)
    assert resolve_api_key(raw).subscriptions["transit"].plan == "free"
    services.subscribe(session, OPERATOR, app.id, "transit", "partner")
    assert resolve_api_key(raw).subscriptions["transit"].plan == "partner"


def test_last_used_is_recorded_at_most_once_a_minute(session, clock):
    raw = make_api_key(session)
    key_id = parse_key(raw).key_id

    def last_used():
        session.expire_all()
        return session.scalar(sa.select(ApiKey.last_used_at).where(ApiKey.key_id == key_id))

    assert last_used() is None
    resolve_api_key(raw)
    first = last_used()
    assert first == clock()
    clock.advance(30)
    resolve_api_key(raw)
    assert last_used() == first
    clock.advance(30)
    resolve_api_key(raw)
    assert last_used() == clock()
