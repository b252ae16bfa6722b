"""GTFS-Realtime entities naming trips, routes and stops the active schedule lacks, and feed
headers whose timestamp is missing, old or ahead: reported as warnings, the message applied."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from providers.transit.live import key
from tests.providers.gtfs_rt.factories import (
    alert,
    feed_message,
    import_realtime,
    trip_update,
    vehicle,
)
from tests.providers.gtfs_rt.test_realtime import CALTRAIN, SNAPSHOT
from tests.providers.transit.factories import import_file

NOW = int(SNAPSHOT.timestamp())


@pytest.fixture
def schedule(session, shared_data):
    """Caltrain's schedule as the active static version."""
    assert import_file(session, shared_data / CALTRAIN / "ct.zip", "caltrain").ok


def _problems(outcome, code):
    return sorted((i.field, i.value) for i in outcome.report.examples.get(code, []))


def test_vehicles_naming_unknown_trips_routes_and_stops_are_reported(schedule, session,
                                                                      redis):
    outcome = import_realtime(session, feed_message(
        vehicle("v1", vehicle_id="V1", trip_id="501", route_id="L5", stop_id="70021"),
        vehicle("v2", vehicle_id="V2", trip_id="GHOST", route_id="NOROUTE", stop_id="NOSTOP"),
        vehicle("v3", vehicle_id="V3"),  # no trip: nothing to match, nothing to report
        timestamp=NOW), "caltrain", redis, now=SNAPSHOT)
    assert outcome.status == "applied"
    assert _problems(outcome, "unmatched_trip") == [("trip_id", "GHOST")]
    assert _problems(outcome, "unmatched_route") == [("route_id", "NOROUTE")]
    assert _problems(outcome, "unmatched_stop") == [("stop_id", "NOSTOP")]
    assert redis.hlen(key("caltrain", "vehicles")) == 3  # stored all the same


def test_alerts_informing_unknown_routes_stops_and_trips_are_reported(schedule, session,
                                                                      redis):
    outcome = import_realtime(session, feed_message(
        alert("a1", routes=("L5", "NOROUTE"), stops=("70021", "NOSTOP"),
              trips=("501", "GHOST")),
        timestamp=NOW), "caltrain", redis, now=SNAPSHOT)
    assert outcome.status == "applied"
    assert _problems(outcome, "unmatched_route") == [("route_id", "NOROUTE")]
    assert _problems(outcome, "unmatched_stop") == [("stop_id", "NOSTOP")]
    assert _problems(outcome, "unmatched_trip") == [("trip_id", "GHOST")]
    assert "'a1'" in outcome.report.examples["unmatched_route"][0].message
    stored = json.loads(redis.get(key("caltrain", "alerts")))
    assert [a["entity_id"] for a in stored] == ["a1"]


def test_a_trip_update_without_trip_id_is_reported_by_its_entity(schedule, session, redis):
    outcome = import_realtime(session, feed_message(
        trip_update("tu-route-only", route_id="NOROUTE", start_time="10:00:00"),
        timestamp=NOW), "caltrain", redis, now=SNAPSHOT)
    assert outcome.counts["unmatched_trips"] == 1
    [issue] = outcome.report.examples["unmatched_trip"]
    assert "'tu-route-only'" in issue.message
    assert "None" not in issue.message
    assert _problems(outcome, "unmatched_route") == [("route_id", "NOROUTE")]


@pytest.mark.parametrize(("timestamp", "code"), [
    (None, "missing_feed_timestamp"),
    (NOW - 3600, "stale_feed"),
    (NOW + 3600, "feed_timestamp_in_future"),
])
def test_a_header_timestamp_missing_old_or_ahead_is_warned_and_applied(
        schedule, session, redis, timestamp, code):
    outcome = import_realtime(session, feed_message(vehicle("v1", vehicle_id="V1"),
                                                    timestamp=timestamp),
                              "caltrain", redis, now=SNAPSHOT)
    assert outcome.status == "applied"
    assert outcome.report.counts[code] == 1
    assert redis.hlen(key("caltrain", "vehicles")) == 1


def test_a_current_header_timestamp_is_not_warned(schedule, session, redis):
    outcome = import_realtime(session, feed_message(
        vehicle("v1", vehicle_id="V1"), timestamp=NOW - 30),
        "caltrain", redis, now=SNAPSHOT + timedelta(seconds=0))
    assert outcome.report.count("warning") == 0, outcome.as_dict()


def test_cli_json_lists_realtime_warnings_by_code_and_exits_0(mobihub, schedule, tmp_path):
    path = tmp_path / "stale.pb"
    path.write_bytes(feed_message(vehicle("v1", vehicle_id="V1", stop_id="NOSTOP"),
                                  timestamp=1))
    result = mobihub("feeds", "import", str(path), "--provider", "caltrain", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["format"] == "gtfs-rt"
    assert body["warnings"] == {"stale_feed": 1, "unmatched_stop": 1}
