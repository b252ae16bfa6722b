"""GET /transit/v1/trips/{id}: a trip's stops with their times on a service day."""

from __future__ import annotations

from tests.providers.transit.factories import CLOCK_CHANGE_FEED, gtfs_zip, import_gtfs_bytes


def test_trip_times_on_the_day_the_clocks_go_back_count_from_noon_minus_12h(api_client,
                                                                           session):
    import_gtfs_bytes(session, gtfs_zip(CLOCK_CHANGE_FEED))
    body = api_client.get("/transit/v1/trips/testtransit:T_DST?date=2024-11-03").get_json()
    assert [s["departure"] for s in body["stops"]] == [
        "2024-11-03T01:30:00-05:00", "2024-11-03T08:00:00-05:00", "2024-11-03T08:30:00-05:00"]
