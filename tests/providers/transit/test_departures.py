"""Departures: service days from calendar and calendar_dates, after-midnight trips, frequencies."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from providers.transit.queries import departures
from tests.providers.transit.factories import gtfs_zip, import_gtfs_bytes

NY = ZoneInfo("America/New_York")


def board(session, local: datetime, stop: str = "testtransit:A", **kwargs):
    return departures(session, None, stop, at=local.replace(tzinfo=NY), **kwargs)["items"]


def trips(items):
    return [(d["trip_id"], d["scheduled"]) for d in items]


def test_weekday_trip_departs_on_a_normal_tuesday(session):
    import_gtfs_bytes(session, gtfs_zip())
    items = board(session, datetime(2024, 7, 2, 7, 30), window_minutes=120)
    assert trips(items) == [("T1", "2024-07-02T08:00:00-04:00")]
    assert items[0]["stop"] == "testtransit:A1"  # the station lists its platform's departures
    assert items[0]["realtime"] is False


def test_calendar_dates_exception_swaps_the_service_on_the_holiday(session):
    import_gtfs_bytes(session, gtfs_zip())
    items = board(session, datetime(2024, 7, 3, 7, 30), window_minutes=120)
    assert trips(items) == [("T_HOL", "2024-07-03T09:00:00-04:00")]


def test_trip_after_midnight_belongs_to_the_previous_service_day(session):
    import_gtfs_bytes(session, gtfs_zip())
    items = board(session, datetime(2024, 7, 2, 0, 15), window_minutes=30)
    assert trips(items) == [("T_NIGHT", "2024-07-02T00:30:00-04:00")]
    assert items[0]["service_date"] == "2024-07-01"


def test_no_after_midnight_trip_when_the_previous_day_is_removed(session):
    import_gtfs_bytes(session, gtfs_zip())
    # Wednesday 2024-07-03 has no WEEK service, so its 24:30 trip does not run Thursday 00:30.
    assert board(session, datetime(2024, 7, 4, 0, 15), window_minutes=30) == []


def test_frequency_based_trip_runs_every_headway(session):
    import_gtfs_bytes(session, gtfs_zip())
    items = board(session, datetime(2024, 7, 2, 10, 0), window_minutes=35)
    assert trips(items) == [("T_FREQ", "2024-07-02T10:00:00-04:00"),
                            ("T_FREQ", "2024-07-02T10:15:00-04:00"),
                            ("T_FREQ", "2024-07-02T10:30:00-04:00")]
    # At the second stop the template's 10-minute offset is kept.
    later = board(session, datetime(2024, 7, 2, 10, 0), stop="testtransit:B",
                  window_minutes=15)
    assert trips(later) == [("T_FREQ", "2024-07-02T10:10:00-04:00")]


def test_time_given_in_utc_is_shown_in_agency_time(session):
    import_gtfs_bytes(session, gtfs_zip())
    result = departures(session, None, "testtransit:A",
                        at=datetime(2024, 7, 2, 11, 30, tzinfo=UTC), window_minutes=60)
    assert result["time"] == "2024-07-02T07:30:00-04:00"
    assert trips(result["items"]) == [("T1", "2024-07-02T08:00:00-04:00")]


def test_limit_caps_the_board(session):
    import_gtfs_bytes(session, gtfs_zip())
    items = board(session, datetime(2024, 7, 2, 10, 0), window_minutes=60, limit=2)
    assert len(items) == 2


def test_demo_network_is_generated_labelled_and_idempotent(session, mobihub):
    from providers.transit.demo import demo_transit

    first = list(demo_transit(session))
    assert "generated demo network" in first[0]
    assert "unchanged" not in first[0].lower()
    again = list(demo_transit(session))
    assert "Identical" in again[0]
    board = departures(session, None, "demo-transit:CENTRAL",
                       at=datetime(2025, 5, 5, 23, 55, tzinfo=ZoneInfo("Europe/Brussels")),
                       window_minutes=30)
    assert board["items"]
    assert any(d["service_date"] == "2025-05-05" and d["scheduled"].startswith("2025-05-06")
               for d in board["items"])  # the 24:xx runs after midnight
