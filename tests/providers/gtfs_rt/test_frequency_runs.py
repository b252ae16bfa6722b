"""Trip updates of frequency-based trips (frequencies.txt): each names one run by its start."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.transit.live import _run_start
from providers.transit.queries import departures, get_trip
from tests.providers.gtfs_rt.factories import feed_message, import_realtime, trip_update
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

NY = ZoneInfo("America/New_York")
# The base feed's T_FREQ leaves A1 every 15 minutes from 10:00 to 11:00 on weekdays.
TUESDAY_10 = datetime(2024, 7, 2, 10, 0, tzinfo=NY)


@pytest.fixture
def schedule(session):
    assert import_gtfs_bytes(session, gtfs_zip()).ok


def apply(session, redis, *updates, at: datetime = TUESDAY_10):
    return import_realtime(session, feed_message(*updates, timestamp=int(at.timestamp())),
                           "testtransit", redis, now=at)


def runs(session, redis) -> dict[str, tuple]:
    """T_FREQ's runs from A between 10:00 and 11:00: (real-time?, delay, estimated time)."""
    items = departures(session, redis, "testtransit:A", at=TUESDAY_10,
                       window_minutes=60)["items"]
    return {d["scheduled"][11:16]: (d["realtime"], d["delay"],
                                    d["estimated"] and d["estimated"][11:19])
            for d in items if d["trip_id"] == "T_FREQ"}


NO_UPDATE = (False, None, None)


def problems(outcome, code: str) -> list[tuple]:
    return [(issue.field, issue.value) for issue in outcome.report.examples.get(code, [])]


def test_each_run_shows_its_own_update_and_the_others_none(schedule, session, redis):
    outcome = apply(session, redis,
                    trip_update("r1", trip_id="T_FREQ", start_time="10:15:00",
                                start_date="20240702", delays={"A1": 120}),
                    trip_update("r2", trip_id="T_FREQ", start_time="10:30:00",
                                start_date="20240702", delays={"A1": 300}))
    assert outcome.counts["matched_trips"] == 2
    assert runs(session, redis) == {"10:00": NO_UPDATE, "10:15": (True, 120, "10:17:00"),
                                    "10:30": (True, 300, "10:35:00"), "10:45": NO_UPDATE}


def test_an_update_for_another_day_shows_on_no_run(schedule, session, redis):
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="10:15:00",
                                      start_date="20240703", delays={"A1": 120}))
    assert set(runs(session, redis).values()) == {NO_UPDATE}


def test_without_a_start_time_no_run_is_named_and_it_is_reported(schedule, session, redis):
    outcome = apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_date="20240702",
                                                delays={"A1": 120}))
    assert outcome.counts["matched_trips"] == 0
    assert problems(outcome, "unmatched_trip") == [("start_time", None)]
    assert set(runs(session, redis).values()) == {NO_UPDATE}


def test_a_start_time_off_the_headway_names_the_nearest_run(schedule, session, redis):
    # exact_times=0: the vehicle's actual start, 1 min 40 s after the 10:15 run's.
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="10:16:40",
                                      start_date="20240702", delays={"A1": 60}))
    assert runs(session, redis)["10:15"] == (True, 60, "10:16:00")


def test_a_start_time_far_from_every_run_is_reported(schedule, session, redis):
    outcome = apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="12:00:00",
                                                start_date="20240702", delays={"A1": 60}))
    assert problems(outcome, "unmatched_trip") == [("start_time", "12:00:00")]


def test_an_absolute_time_gives_the_delay_against_its_own_run(schedule, session, redis):
    arrives = datetime(2024, 7, 2, 10, 32, tzinfo=NY)  # the 10:30 run, two minutes late
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="10:30:00",
                                      start_date="20240702",
                                      times={"A1": int(arrives.timestamp())}))
    assert runs(session, redis)["10:30"] == (True, 120, "10:32:00")


def test_without_a_start_date_the_run_s_day_comes_from_the_feed_time(schedule, session, redis):
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="10:15:00",
                                      delays={"A1": 120}),
          at=datetime(2024, 7, 2, 10, 12, tzinfo=NY))
    assert runs(session, redis)["10:15"] == (True, 120, "10:17:00")


def test_a_trip_s_own_page_shows_no_single_run_s_update(schedule, session, redis):
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_time="10:15:00",
                                      start_date="20240702", delays={"A1": 120}))
    trip = get_trip(session, redis, "testtransit:T_FREQ", service_date=TUESDAY_10.date())
    assert trip["frequency_based"] is True
    assert trip["realtime"] is False


@given(st.lists(st.tuples(st.integers(0, 30_000), st.integers(1, 20_000),
                          st.integers(1, 4_000)), min_size=1, max_size=3),
       st.integers(0, 60_000))
def test_the_run_named_is_the_nearest_run_within_half_a_headway(periods, secs):
    periods = [(start, start + length, headway) for start, length, headway in periods]
    candidates = [(abs(secs - run), run) for start, end, headway in periods
                  for run in range(start, end, headway) if abs(secs - run) * 2 <= headway]
    text = f"{secs // 3600}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    found = _run_start(text, periods)
    if not candidates:
        assert found is None
    else:
        assert found is not None
        assert abs(secs - found) == min(candidates)[0]
        assert any(abs(secs - found) * 2 <= headway and (found - start) % headway == 0
                   and start <= found < end for start, end, headway in periods)


def test_a_trip_s_page_is_not_real_time_by_an_update_naming_no_run(schedule, session, redis):
    apply(session, redis, trip_update("r1", trip_id="T_FREQ", start_date="20240702",
                                      delays={"A1": 120}))
    trip = get_trip(session, redis, "testtransit:T_FREQ", service_date=TUESDAY_10.date())
    assert trip["realtime"] is False
    assert {stop["delay"] for stop in trip["stops"]} == {None}
