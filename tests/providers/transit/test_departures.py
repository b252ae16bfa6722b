"""Departures: service days from calendar and calendar_dates, after-midnight trips, frequencies."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from providers.transit.queries import departures
from tests.providers.transit.factories import (
    BASE_FEED,
    CLOCK_CHANGE_FEED,
    gtfs_zip,
    import_gtfs_bytes,
)

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


def test_frequency_based_trip_keeps_its_offset_at_a_later_stop(session):
    import_gtfs_bytes(session, gtfs_zip({
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "T_FREQ,00:00:00,00:00:00,A1,1\nT_FREQ,00:10:00,00:10:00,B,2\n"
                          "T_FREQ,00:20:00,00:20:00,A1,3\n"}))
    later = board(session, datetime(2024, 7, 2, 10, 0), stop="testtransit:B",
                  window_minutes=15)
    assert trips(later) == [("T_FREQ", "2024-07-02T10:10:00-04:00")]


def test_trip_ending_at_a_stop_is_not_a_departure_there(session):
    # T1 and T_HOL end at B: nobody boards them there. T_DST (clock-change feed) leaves A1 and
    # comes back to it: it departs from A1 at 01:30, not at 08:30, where it ends.
    import_gtfs_bytes(session, gtfs_zip())
    assert board(session, datetime(2024, 7, 2, 8, 0), stop="testtransit:B",
                 window_minutes=120) == []
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED), provider="looptransit")
    items = departures(session, None, "looptransit:A1",
                       at=datetime(2024, 11, 3, 0, 0, tzinfo=NY), window_minutes=12 * 60)["items"]
    assert trips(items) == [("T_DST", "2024-11-03T01:30:00-05:00")]


def test_stop_without_pickup_is_not_a_departure_there(session):
    import_gtfs_bytes(session, gtfs_zip({
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence,"
                          "pickup_type\n"
                          "T1,08:00:00,08:00:00,A1,1,1\nT1,08:10:00,08:10:00,B,2,0\n"
                          "T1,08:20:00,08:20:00,A1,3,0\n"}))
    assert board(session, datetime(2024, 7, 2, 7, 30), window_minutes=30) == []
    assert trips(board(session, datetime(2024, 7, 2, 8, 0), stop="testtransit:B",
                       window_minutes=30)) == [("T1", "2024-07-02T08:10:00-04:00")]


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


def test_a_new_version_is_served_at_once_despite_the_in_process_caches(session):
    # Services, routes and frequency templates are cached per feed version; a new import is a
    # new version, so the board changes with it.
    import_gtfs_bytes(session, gtfs_zip())
    assert trips(board(session, datetime(2024, 7, 2, 7, 30), window_minutes=120)) == [
        ("T1", "2024-07-02T08:00:00-04:00")]
    changed = gtfs_zip({
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                        "start_date,end_date\nWEEK,1,0,1,1,1,0,0,20240101,20241231\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
                      "R1,AG,1X,Alpha - Bravo express,3\n",
        "frequencies.txt": None,
    })
    assert import_gtfs_bytes(session, changed).ok
    assert board(session, datetime(2024, 7, 2, 7, 30), window_minutes=120) == []  # no Tuesdays
    monday = board(session, datetime(2024, 7, 1, 9, 55), window_minutes=60)
    # T_FREQ is an ordinary trip now (its template time 00:00 is outside the window).
    assert trips(monday) == []
    monday = board(session, datetime(2024, 7, 1, 7, 30), window_minutes=60)
    assert trips(monday) == [("T1", "2024-07-01T08:00:00-04:00")]
    assert monday[0]["route"]["short_name"] == "1X"


def test_prefetched_service_days_keep_the_calendar_dates_exceptions(session):
    # The first board caches a fortnight of service days around it; later boards in that
    # fortnight are answered from it and must still see the holiday swap.
    import_gtfs_bytes(session, gtfs_zip())
    assert trips(board(session, datetime(2024, 7, 1, 7, 30), window_minutes=120)) == [
        ("T1", "2024-07-01T08:00:00-04:00")]
    assert trips(board(session, datetime(2024, 7, 3, 7, 30), window_minutes=120)) == [
        ("T_HOL", "2024-07-03T09:00:00-04:00")]
    assert board(session, datetime(2024, 7, 4, 0, 15), window_minutes=30) == []
    assert trips(board(session, datetime(2024, 7, 5, 7, 30), window_minutes=120)) == [
        ("T1", "2024-07-05T08:00:00-04:00")]


def test_times_count_from_noon_minus_12h_on_the_day_the_clocks_go_back(session):
    # GTFS stop_times.txt: times are measured from "noon minus 12h" of the service day. On
    # 2024-11-03 that is 01:00 EDT (05:00Z), so 01:30:00 is 06:30Z, the second 01:30 (EST).
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED))
    asked = datetime(2024, 11, 3, 6, 10, tzinfo=UTC)  # 01:10 EST
    items = departures(session, None, "testtransit:A1", at=asked, window_minutes=30)["items"]
    assert trips(items) == [("T_DST", "2024-11-03T01:30:00-05:00")]
    later = departures(session, None, "testtransit:B", at=asked, window_minutes=420)["items"]
    assert trips(later) == [("T_DST", "2024-11-03T08:00:00-05:00")]


def test_a_board_never_shows_a_departure_before_the_time_asked_for(session):
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED))
    for minute in range(0, 24 * 60, 10):
        asked = datetime(2024, 11, 3, 4, 0, tzinfo=UTC).timestamp() + minute * 60
        at = datetime.fromtimestamp(asked, UTC)
        for item in departures(session, None, "testtransit:A1", at=at,
                               window_minutes=60)["items"]:
            scheduled = datetime.fromisoformat(item["scheduled"])
            assert at <= scheduled <= datetime.fromtimestamp(asked + 3600, UTC), (at, item)


def test_times_count_from_noon_minus_12h_on_the_day_the_clocks_go_forward(session):
    # On 2024-03-10 noon minus 12h is 23:00 EST the evening before (04:00Z): 01:30:00 is
    # 05:30Z (00:30 EST), and 08:00:00 is 12:00Z, 08:00 EDT as on any other day.
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED))
    items = departures(session, None, "testtransit:A1",
                       at=datetime(2024, 3, 10, 5, 0, tzinfo=UTC), window_minutes=60)["items"]
    assert trips(items) == [("T_DST", "2024-03-10T00:30:00-05:00")]
    later = departures(session, None, "testtransit:B",
                       at=datetime(2024, 3, 10, 11, 0, tzinfo=UTC), window_minutes=90)["items"]
    assert trips(later) == [("T_DST", "2024-03-10T08:00:00-04:00")]


def test_a_window_over_the_clock_change_lasts_its_minutes_of_real_time(session):
    # 00:50 EDT + 3 hours is 02:50 EST: the 08:00 departure stays out, as does anything over
    # three real hours away; 01:30 EST (06:30Z) is inside.
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED))
    items = departures(session, None, "testtransit:A1",
                       at=datetime(2024, 11, 3, 0, 50, tzinfo=NY), window_minutes=180)["items"]
    assert trips(items) == [("T_DST", "2024-11-03T01:30:00-05:00")]
    short = departures(session, None, "testtransit:A1",
                       at=datetime(2024, 11, 3, 0, 50, tzinfo=NY), window_minutes=90)["items"]
    assert short == []  # 06:30Z is 100 minutes after 04:50Z


def test_every_frequency_based_trip_gets_its_earliest_runs_on_a_short_board(session):
    # Two templates at one stop: one every 5 minutes from 10:00, one hourly from 10:01. The
    # first's many runs must not crowd out the second's run at 10:01.
    import_gtfs_bytes(session, gtfs_zip({
        "trips.txt": "route_id,service_id,trip_id,trip_headsign\n"
                     "R1,WEEK,T_OFTEN,Bravo often\nR1,WEEK,T_HOURLY,Bravo hourly\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "T_OFTEN,00:00:00,00:00:00,A1,1\nT_OFTEN,00:10:00,00:10:00,B,2\n"
                          "T_HOURLY,00:00:00,00:00:00,A1,1\nT_HOURLY,00:10:00,00:10:00,B,2\n",
        "frequencies.txt": "trip_id,start_time,end_time,headway_secs\n"
                           "T_OFTEN,10:00:00,11:00:00,300\nT_HOURLY,10:01:00,11:00:00,3600\n",
        "calendar_dates.txt": None,
    }))
    items = board(session, datetime(2024, 7, 2, 10, 0), window_minutes=60, limit=2)
    assert trips(items) == [("T_OFTEN", "2024-07-02T10:00:00-04:00"),
                            ("T_HOURLY", "2024-07-02T10:01:00-04:00")]


def test_a_new_version_s_board_names_its_own_trips_where_the_trip_order_changed(session):
    import_gtfs_bytes(session, gtfs_zip())
    assert trips(board(session, datetime(2024, 7, 2, 7, 30), window_minutes=120)) == [
        ("T1", "2024-07-02T08:00:00-04:00")]
    # The same stop times under other trip ids in another trips.txt order: the patterns of the
    # new version name other trip indexes, which must not be read as the old version's.
    renamed = {name: BASE_FEED[name].replace("T1,", "T_EARLY,").replace("T_NIGHT,", "T1,")
               for name in ("trips.txt", "stop_times.txt")}
    header, *rows = renamed["trips.txt"].splitlines()
    renamed["trips.txt"] = "\n".join([header, *sorted(rows)]) + "\n"
    assert import_gtfs_bytes(session, gtfs_zip(renamed)).ok
    assert trips(board(session, datetime(2024, 7, 2, 7, 30), window_minutes=120)) == [
        ("T_EARLY", "2024-07-02T08:00:00-04:00")]
    assert trips(board(session, datetime(2024, 7, 2, 0, 15), window_minutes=30)) == [
        ("T1", "2024-07-02T00:30:00-04:00")]
