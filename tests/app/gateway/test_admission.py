"""The admission script through both client paths: the packed EVALSHA on a pooled connection
(a real Redis server) and redis-py's script object (the embedded store)."""

import time

from app.gateway import keys
from app.gateway.admission import OK, QUOTA_EXCEEDED, RATE_LIMITED, Admission
from app.gateway.identity import PlanLimits
from app.live import _embedded_client
from billing.metering import pending_calls

PLAN = PlanLimits("t", requests_per_second=1, burst=2, monthly_quota=3,
                  price_per_1000_calls_minor=0)


def _run(admission, app_id):
    decisions = [admission.admit(app_id, 7, "parking", PLAN) for _ in range(3)]
    rejected = admission.admit(app_id, 7, "parking", None, reject=True)
    return decisions, rejected


def _check(client, app_id, decisions, rejected):
    assert [(d.allowed, d.reason) for d in decisions] == [
        (True, OK), (True, OK), (False, RATE_LIMITED)]
    assert [d.quota_used for d in decisions] == [1, 2, 2]
    assert decisions[0].remaining == 1
    assert decisions[1].remaining == 0
    assert decisions[2].reset_seconds >= 1
    assert decisions[0].month == time.strftime("%Y%m", time.gmtime())
    assert (rejected.allowed, rejected.reason) == (False, 3)
    assert pending_calls(client, app_id) == {"admitted": 2, "rejected": 2}
    bucket = next(client.scan_iter(match=keys.tag(app_id) + ":u:*"))
    assert client.hget(bucket, "org") == b"7"


def test_real_redis_uses_the_packed_command_and_counts_exactly(redis):
    admission = Admission(redis)
    assert admission.direct
    _check(redis, 901, *_run(admission, 901))


def test_a_server_without_the_script_gets_it_loaded_and_the_call_counted_once(redis):
    admission = Admission(redis)
    redis.script_flush()  # as after a Redis restart
    decision = admission.admit(902, 7, "parking", PLAN)
    assert decision.allowed
    assert decision.quota_used == 1
    assert pending_calls(redis, 902) == {"admitted": 1, "rejected": 0}


def test_quota_exhaustion_through_the_packed_command(redis):
    admission = Admission(redis)
    plan = PlanLimits("q", requests_per_second=1000, burst=1000, monthly_quota=2,
                      price_per_1000_calls_minor=0)
    reasons = [admission.admit(903, 7, "parking", plan).reason for _ in range(4)]
    assert reasons == [OK, OK, QUOTA_EXCEEDED, QUOTA_EXCEEDED]
    assert pending_calls(redis, 903) == {"admitted": 2, "rejected": 2}


def test_embedded_store_goes_through_the_script_object():
    client = _embedded_client()
    admission = Admission(client)
    assert not admission.direct
    try:
        _check(client, 904, *_run(admission, 904))
    finally:
        for key in client.scan_iter(match=keys.tag(904) + ":*"):
            client.delete(key)
