"""The transit API over HTTP: stops, departures, routes, trips, vehicles, alerts, problems."""

from __future__ import annotations

import pytest
from geopy.distance import geodesic

from tests.providers.transit.factories import gtfs_zip, import_file, import_gtfs_bytes

CALTRAIN = "gtfs/caltrain"


@pytest.fixture
def network(session):
    """The hand-written test network (America/New_York), imported for real."""
    return import_gtfs_bytes(session, gtfs_zip())


def test_stops_near_a_point_are_sorted_by_distance_in_metres(api_client, network):
    response = api_client.get("/transit/v1/stops?lat=40.7500&lon=-73.9900&radius=300")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [s["id"] for s in items] == ["testtransit:A", "testtransit:A1"]
    assert items[0]["distance"] == 0.0
    assert 10 < items[1]["distance"] < 20  # 0.0001 degree of latitude and longitude
    assert items[0]["location"] == {"type": "Point", "coordinates": [-73.99, 40.75]}
    assert items[1]["parent_station"] == "testtransit:A"


def test_stops_near_the_edge_of_the_radius_are_found_at_the_equator(api_client, session):
    # A degree of latitude is shortest at the equator (110.6 km): a box sized with a mean
    # degree would cut off B, 798 m due north.
    import_gtfs_bytes(session, gtfs_zip({
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station\n"
                     "A,Alpha Station,0.0,10.0,1,\nA1,Alpha Platform 1,0.0001,10.0001,0,A\n"
                     "B,Bravo,0.00722,10.0,0,\n"}))
    items = api_client.get("/transit/v1/stops?lat=0&lon=10&radius=800").get_json()["items"]
    assert [s["id"] for s in items] == ["testtransit:A", "testtransit:A1", "testtransit:B"]
    for item in items:
        lon, lat = item["location"]["coordinates"]
        assert item["distance"] == round(geodesic((0, 10), (lat, lon)).meters, 1)
    assert 798 < items[-1]["distance"] < 800


def test_stop_list_pages_with_a_cursor(api_client, network):
    first = api_client.get("/transit/v1/stops?limit=2").get_json()
    assert len(first["items"]) == 2
    second = api_client.get(f"/transit/v1/stops?limit=2&cursor={first['next_cursor']}")
    body = second.get_json()
    assert [s["id"] for s in body["items"]] == ["testtransit:B"]
    assert body["next_cursor"] is None


def test_stops_by_name_and_bbox(api_client, network):
    by_name = api_client.get("/transit/v1/stops?q=brav").get_json()["items"]
    assert [s["id"] for s in by_name] == ["testtransit:B"]
    boxed = api_client.get("/transit/v1/stops?bbox=-73.985,40.755,-73.975,40.765").get_json()
    assert [s["id"] for s in boxed["items"]] == ["testtransit:B"]


@pytest.mark.parametrize("query", ["lat=40.75", "bbox=1,2,3", "radius=0&lat=1&lon=1",
                                   "lat=91&lon=0", "limit=0"])
def test_invalid_stop_queries_are_422_problems(api_client, query):
    response = api_client.get(f"/transit/v1/stops?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"]


def test_a_forged_cursor_is_a_400_problem(api_client, network):
    response = api_client.get("/transit/v1/stops?cursor=not-ours")
    assert response.status_code == 400
    assert response.get_json()["type"].endswith("/invalid-cursor")


def test_unknown_stop_is_404_problem(api_client, network):
    for path in ("/transit/v1/stops/testtransit:NOPE", "/transit/v1/stops/no-colon",
                 "/transit/v1/stops/nobody:A/departures"):
        response = api_client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"


def test_departures_at_a_given_time_across_midnight(api_client, network):
    response = api_client.get(
        "/transit/v1/stops/testtransit:A/departures?time=2024-07-02T00:15:00-04:00&window=30")
    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "America/New_York"
    [departure] = body["items"]
    assert departure["trip"] == "testtransit:T_NIGHT"
    assert departure["scheduled"] == "2024-07-02T00:30:00-04:00"
    assert departure["service_date"] == "2024-07-01"
    assert departure["route"]["short_name"] == "1"
    assert departure["headsign"] == "Bravo night"


def test_routes_and_route_detail(api_client, network):
    routes = api_client.get("/transit/v1/routes").get_json()["items"]
    assert [r["id"] for r in routes] == ["testtransit:R1"]
    detail = api_client.get("/transit/v1/routes/testtransit:R1").get_json()
    assert detail["agency"]["timezone"] == "America/New_York"
    assert api_client.get("/transit/v1/routes?type=2").get_json()["items"] == []


def test_trip_lists_its_stops_in_order(api_client, network):
    body = api_client.get("/transit/v1/trips/testtransit:T_NIGHT?date=2024-07-01").get_json()
    assert body["runs_on_service_date"] is True
    assert [s["stop"] for s in body["stops"]] == ["testtransit:A1", "testtransit:B"]
    assert body["stops"][1]["arrival"] == "2024-07-02T01:00:00-04:00"
    holiday = api_client.get("/transit/v1/trips/testtransit:T1?date=2024-07-03").get_json()
    assert holiday["runs_on_service_date"] is False


def test_caltrain_departures_show_real_time_at_the_snapshot(api_client, session, shared_data,
                                                            redis):
    import_file(session, shared_data / CALTRAIN / "ct.zip", "caltrain")
    import_file(session, shared_data / CALTRAIN / "ct-trip-updates.pb", "caltrain", "gtfs-rt",
                live=redis)
    response = api_client.get("/transit/v1/stops/caltrain:mountain_view/departures"
                              "?time=2023-11-08T01:05:34Z&limit=5")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items[0]["scheduled"].startswith("2023-11-07T17:")
    assert any(d["realtime"] and d["delay"] for d in items)
    for item in items:
        assert item["realtime"] == (item["estimated"] is not None)


def test_vehicles_in_a_bbox(api_client, session, shared_data, redis):
    import_file(session, shared_data / CALTRAIN / "ct.zip", "caltrain")
    import_file(session, shared_data / CALTRAIN / "ct-vehicle-positions.pb", "caltrain",
                "gtfs-rt", live=redis)
    everything = api_client.get("/transit/v1/vehicles").get_json()["items"]
    assert len(everything) == 14
    assert everything[0]["trip"].startswith("caltrain:")
    south = api_client.get("/transit/v1/vehicles?bbox=-122.2,37.0,-121.0,37.45").get_json()
    assert 0 < len(south["items"]) < 14


def test_alerts_are_empty_for_an_empty_feed(api_client, session, shared_data, redis):
    import_file(session, shared_data / CALTRAIN / "ct.zip", "caltrain")
    import_file(session, shared_data / CALTRAIN / "ct-service-alerts.pb", "caltrain",
                "gtfs-rt", live=redis)
    response = api_client.get("/transit/v1/alerts?route=caltrain:L1")
    assert response.status_code == 200
    assert response.get_json() == {"items": []}
