"""GTFS-Realtime: decode, match to the active schedule, store in Redis, show in departures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from providers.base import FeedFormatError
from providers.gtfs_rt.adapter import GtfsRealtimeAdapter
from providers.transit.live import key
from providers.transit.models import TransitRealtimeUpdate
from providers.transit.queries import departures, get_trip
from tests.providers.transit.factories import import_file

CALTRAIN = "gtfs/caltrain"
SNAPSHOT = datetime.fromtimestamp(1699405534, UTC)  # 2023-11-08 01:05:34Z


@pytest.fixture
def caltrain(session, shared_data, redis):
    """Caltrain's schedule imported and its trip updates applied, as the CLI does."""
    import_file(session, shared_data / CALTRAIN / "ct.zip", "caltrain")
    return import_file(session, shared_data / CALTRAIN / "ct-trip-updates.pb", "caltrain",
                       "gtfs-rt", live=redis)


def test_caltrain_trip_updates_match_19_of_19_trips(caltrain, redis):
    assert caltrain.status == "applied"
    assert caltrain.counts["trip_updates"] == 19
    assert caltrain.counts["matched_trips"] == 19
    assert caltrain.counts["unmatched_trips"] == 0
    assert "unmatched_stop" not in caltrain.report.counts
    stored = json.loads(redis.hget(key("caltrain", "trip_updates"), "124"))
    assert stored["service_date"] == "2023-11-07"
    assert redis.ttl(key("caltrain", "trip_updates")) > 0


def test_departures_at_the_snapshot_show_the_real_time_delays(caltrain, session, redis):
    board = departures(session, redis, "caltrain:mountain_view", at=SNAPSHOT, limit=5)
    assert board["time"] == "2023-11-07T17:05:34-08:00"
    live = [d for d in board["items"] if d["realtime"]]
    assert live, board
    for item in live:
        scheduled = datetime.fromisoformat(item["scheduled"])
        estimated = datetime.fromisoformat(item["estimated"])
        assert (estimated - scheduled).total_seconds() == item["delay"]
    # Trip 124 reaches Santa Clara (sequence 21) at 1699405801 against 17:09:00 scheduled.
    trip = get_trip(session, redis, "caltrain:124",
                    service_date=datetime(2023, 11, 7).date())
    santa_clara = next(s for s in trip["stops"] if s["stop_sequence"] == 21)
    assert santa_clara["delay"] == 1699405801 - int(
        datetime.fromisoformat(santa_clara["departure"]).timestamp())
    assert santa_clara["delay"] == 61


def test_unmatched_trips_are_reported_as_warnings(session, shared_data, redis):
    # No static feed for this provider: nothing can match, and it says so.
    outcome = import_file(session, shared_data / CALTRAIN / "ct-trip-updates.pb", "other",
                          "gtfs-rt", live=redis)
    assert outcome.status == "applied"
    assert outcome.report.counts["unmatched_trip"] == 19
    assert outcome.report.counts["no_static_feed"] == 1


def test_vehicle_positions_are_stored_and_alerts_feed_may_be_empty(caltrain, session,
                                                                   shared_data, redis):
    vehicles = import_file(session, shared_data / CALTRAIN / "ct-vehicle-positions.pb",
                           "caltrain", "gtfs-rt", live=redis)
    assert vehicles.counts["vehicles"] == 14
    assert "unmatched_trip" not in vehicles.report.counts
    assert redis.hlen(key("caltrain", "vehicles")) == 14
    alerts = import_file(session, shared_data / CALTRAIN / "ct-service-alerts.pb", "caltrain",
                         "gtfs-rt", live=redis)
    assert alerts.status == "applied"
    assert alerts.counts["alerts"] == 0


def test_invalid_protobuf_is_a_clear_format_error(shared_data):
    with pytest.raises(FeedFormatError, match="not a GTFS-Realtime"):
        GtfsRealtimeAdapter().parse((shared_data / CALTRAIN / "ct.zip").read_bytes(), {})
    with pytest.raises(FeedFormatError):
        GtfsRealtimeAdapter().parse(b"", {})


def test_cli_rejects_a_zip_given_as_gtfs_rt(mobihub, shared_data):
    result = mobihub("feeds", "import", str(shared_data / CALTRAIN / "ct.zip"),
                     "--provider", "caltrain", "--format", "gtfs-rt")
    assert result.exit_code == 1
    assert "not a GTFS-Realtime protobuf" in result.output


def test_cli_tells_gtfs_and_gtfs_rt_apart_without_format(mobihub, shared_data, redis):
    schedule = mobihub("feeds", "import", str(shared_data / CALTRAIN / "ct.zip"),
                       "--provider", "caltrain", "--json")
    assert schedule.exit_code == 0, schedule.output
    assert json.loads(schedule.output)["format"] == "gtfs"
    updates = mobihub("feeds", "import", str(shared_data / CALTRAIN / "ct-trip-updates.pb"),
                      "--provider", "caltrain", "--json")
    assert updates.exit_code == 0, updates.output
    body = json.loads(updates.output)
    assert body["format"] == "gtfs-rt"
    assert body["counts"]["matched_trips"] == 19


def test_cli_without_format_refuses_content_it_cannot_tell(mobihub, shared_data):
    result = mobihub("feeds", "import",
                     str(shared_data / "parking/datex2/aachen-static.xml"), "--provider", "aachen")
    assert result.exit_code == 1
    assert "name it with --format" in result.output
    assert "Traceback" not in result.output


def test_with_redis_no_message_is_kept_in_sql(caltrain, session):
    """Kept messages are for processes on the embedded store; Redis is shared already."""
    assert caltrain.status == "applied"
    assert session.scalar(sa.select(sa.func.count()).select_from(TransitRealtimeUpdate)) == 0
