"""The metering flush: Redis buckets into the SQL ledger, exactly once whatever crashes."""

import pytest
import sqlalchemy as sa

from app.gateway import keys
from billing.ledger import totals
from billing.metering import FlushInterrupted, pending_calls
from billing.metering import flush_usage as _flush_usage
from billing.models import UsageLedger
from tests.support.gateway import make_developer, make_plan

PROBE = "/parking/v1/probe"


def call(client, developer, times, path=PROBE):
    return [client.get(path, headers=developer.headers).status_code for _ in range(times)]


def flush_usage(**options):
    """Flush from the probe hub (whose gateway holds the deferred status classes)."""
    from flask import current_app

    with current_app.extensions["test.hub"].app_context():
        return _flush_usage(**options)


def ledger_rows(session, app_id):
    return {(r.product, r.status_class): (r.count_admitted, r.count_rejected)
            for r in session.scalars(sa.select(UsageLedger).where(UsageLedger.app_id == app_id))}


def test_flush_moves_every_counted_call_into_the_ledger(hub_client, session, redis):
    developer = make_developer(session, plan=make_plan(session, quota=7))
    assert call(hub_client, developer, 10).count(200) == 7
    call(hub_client, developer, 2, f"{PROBE}/status/404")  # quota exhausted: both rejected
    result = flush_usage()
    assert (result.admitted, result.rejected) == (7, 5)
    assert totals(session, app_id=developer.app_id) == {"admitted": 7, "rejected": 5}
    assert ledger_rows(session, developer.app_id) == {("parking", "2xx"): (7, 0),
                                                      ("parking", "4xx"): (0, 5)}
    assert list(redis.scan_iter(match=keys.tag(developer.app_id) + ":u:*")) == []
    assert list(redis.scan_iter(match=keys.tag(developer.app_id) + ":claimed:*")) == []


def test_second_flush_adds_only_new_calls(hub_client, session, developer):
    call(hub_client, developer, 3)
    flush_usage()
    call(hub_client, developer, 2)
    flush_usage()
    flush_usage()  # nothing left: a no-op
    assert totals(session, app_id=developer.app_id) == {"admitted": 5, "rejected": 0}


def test_crash_after_claim_then_rerun_counts_each_call_once(hub_client, session, developer,
                                                            redis):
    call(hub_client, developer, 4)
    with pytest.raises(FlushInterrupted):
        flush_usage(stop_after="claim")
    assert list(redis.scan_iter(match=keys.tag(developer.app_id) + ":claimed:*"))
    assert totals(session, app_id=developer.app_id)["admitted"] == 0
    call(hub_client, developer, 1)  # a call after the crash lands in a fresh bucket
    fresh = flush_usage()  # claims younger than recover_after belong to a live flush: left
    assert fresh.recovered == 0
    assert totals(session, app_id=developer.app_id)["admitted"] == 1
    result = flush_usage(recover_after=0)
    assert result.recovered == 1
    assert totals(session, app_id=developer.app_id) == {"admitted": 5, "rejected": 0}
    assert pending_calls(redis, developer.app_id) == {"admitted": 0, "rejected": 0}


def test_crash_after_commit_then_rerun_does_not_count_twice(hub_client, session, developer,
                                                            redis):
    call(hub_client, developer, 6)
    with pytest.raises(FlushInterrupted):
        flush_usage(stop_after="commit")
    assert totals(session, app_id=developer.app_id)["admitted"] == 6
    claimed = list(redis.scan_iter(match=keys.tag(developer.app_id) + ":claimed:*"))
    assert len(claimed) == 1  # committed but not yet deleted
    result = flush_usage(recover_after=0)
    assert (result.recovered, result.skipped, result.applied) == (1, 1, 0)
    assert totals(session, app_id=developer.app_id) == {"admitted": 6, "rejected": 0}
    assert list(redis.scan_iter(match=keys.tag(developer.app_id) + ":claimed:*")) == []


def test_status_reported_after_a_flush_moves_calls_between_classes(hub, hub_client, session,
                                                                   developer):
    call(hub_client, developer, 3)
    flush_usage(drain=False)  # admitted, classes not yet reported: "unknown"
    assert ledger_rows(session, developer.app_id) == {("parking", "unknown"): (3, 0)}
    flush_usage()  # reports the classes, then flushes the correction
    assert ledger_rows(session, developer.app_id) == {("parking", "unknown"): (0, 0),
                                                      ("parking", "2xx"): (3, 0)}
    assert totals(session, app_id=developer.app_id)["admitted"] == 3


def test_deferred_batch_retried_after_a_lost_reply_applies_once(hub, hub_client, developer,
                                                                redis):
    recorder = hub.extensions["mobihub.gateway"].recorder
    call(hub_client, developer, 2)
    with recorder._lock:
        pending = {app: dict(ops) for app, ops in recorder._pending.items()}
    assert recorder.drain()
    # The same batch again, as a retry after the reply was lost would send it: same token.
    from app.gateway.recorder import Batch

    token = redis.keys(keys.tag(developer.app_id) + ":tok:*")[0].decode().rsplit(":", 1)[1]
    recorder._send([Batch(developer.app_id, developer.organisation_id, token,
                          pending[developer.app_id])])
    assert pending_calls(redis, developer.app_id) == {"admitted": 2, "rejected": 0}
    bucket = next(redis.scan_iter(match=keys.tag(developer.app_id) + ":u:*"))
    assert int(redis.hget(bucket, "parking|2xx|a")) == 2
