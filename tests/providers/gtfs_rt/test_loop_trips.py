"""Trip updates naming a stop without its sequence, on a trip that visits the stop twice."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from providers.transit.queries import departures, get_trip
from tests.providers.gtfs_rt.factories import feed_message, import_realtime, trip_update
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

NY = ZoneInfo("America/New_York")
AT = datetime(2024, 7, 2, 7, 55, tzinfo=NY)
# T_LOOP leaves A1 at 08:00, passes B at 08:10 and ends back at A1 at 08:20.
LOOP_FEED = {
    "trips.txt": "route_id,service_id,trip_id,trip_headsign\nR1,WEEK,T_LOOP,Loop\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "T_LOOP,08:00:00,08:00:00,A1,1\n"
                      "T_LOOP,08:10:00,08:10:00,B,2\n"
                      "T_LOOP,08:20:00,08:20:00,A1,3\n",
    "frequencies.txt": None,
}


@pytest.fixture
def loop(session):
    assert import_gtfs_bytes(session, gtfs_zip(LOOP_FEED)).ok


def apply(session, redis, delays):
    update = trip_update("u", trip_id="T_LOOP", start_date="20240702")

    def fill(entity):
        update(entity)
        for stop_id, delay in delays:  # in stop_sequence order, as GTFS-RT requires
            stop_time_update = entity.trip_update.stop_time_update.add()
            stop_time_update.stop_id = stop_id
            stop_time_update.departure.delay = delay

    outcome = import_realtime(session, feed_message(fill, timestamp=int(AT.timestamp())),
                              "testtransit", redis, now=AT)
    assert outcome.counts["matched_trips"] == 1
    return outcome


def test_a_stop_named_without_sequence_is_its_first_visit(loop, session, redis):
    apply(session, redis, [("A1", 60)])
    items = departures(session, redis, "testtransit:A", at=AT, window_minutes=30)["items"]
    assert [(d["trip_id"], d["delay"]) for d in items] == [("T_LOOP", 60)]


def test_the_same_stop_named_again_is_its_next_visit(loop, session, redis):
    apply(session, redis, [("A1", 60), ("B", 120), ("A1", 300)])
    trip = get_trip(session, redis, "testtransit:T_LOOP", service_date=AT.date())
    assert [(s["stop_sequence"], s["delay"]) for s in trip["stops"]] == [
        (1, 60), (2, 120), (3, 300)]


def test_the_report_says_which_visit_a_stop_without_sequence_was_taken_as(loop, session, redis):
    outcome = apply(session, redis, [("A1", 60), ("B", 120), ("A1", 300)])
    assert outcome.report.counts["ambiguous_stop"] == 2
    ambiguous = outcome.report.examples["ambiguous_stop"]
    assert [(p.severity, p.value) for p in ambiguous] == [("warning", "A1"), ("warning", "A1")]
    assert "sequence 1" in ambiguous[0].message
    assert "sequence 3" in ambiguous[1].message
    assert "visits stop 'A1' 2 times" in ambiguous[0].message


def test_a_stop_visited_once_needs_no_sequence(loop, session, redis):
    outcome = apply(session, redis, [("B", 120)])
    assert "ambiguous_stop" not in outcome.report.counts
