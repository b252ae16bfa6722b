"""Zones at a point or in a box, and price quotes, through the parking API."""

import json

import pytest

from tests.factories.parking import import_file, import_lots, import_zones_csv, lot
from tests.support.gateway import make_developer, make_plan

SQUARE = "POLYGON ((7 50, 7.01 50, 7.01 50.01, 7 50.01, 7 50))"
TARIFF = {"currency": "EUR", "timezone": "Europe/Berlin", "daily_max": 800,
          "bands": [{"days": [0, 1, 2, 3, 4, 5], "start": "08:00", "end": "20:00",
                     "period_minutes": 30, "price": 100}]}


@pytest.fixture
def headers(session):
    """Credentials of a developer subscribed to parking."""
    return make_developer(session, plan=make_plan(session)).headers


def test_zone_at_a_point_inside_a_polygon(api_client, headers, session, redis):
    tariff = json.dumps(TARIFF).replace('"', '""')
    import_zones_csv(session, redis, [f'z1;Centre;{SQUARE};"{tariff}"'],
                     extra_fields={"tariff": "tariff"})
    inside = api_client.get("/parking/v1/zones?lat=50.005&lon=7.005", headers=headers).get_json()
    assert [z["id"] for z in inside["items"]] == ["zonecity:z1"]
    outside = api_client.get("/parking/v1/zones?lat=50.02&lon=7.005", headers=headers).get_json()
    assert outside["items"] == []


def square(lat: float, lon: float, size: float) -> str:
    return (f"POLYGON (({lon} {lat}, {lon + size} {lat}, {lon + size} {lat + size}, "
            f"{lon} {lat + size}, {lon} {lat}))")


def test_zones_of_every_size_are_found_at_a_point(api_client, headers, session, redis):
    # Zones sit in lookup cells by size (1 km, 11 km, 111 km, larger): each one is found.
    sizes = {"block": 0.004, "district": 0.05, "city": 0.6, "region": 3.0}
    import_zones_csv(session, redis, [f"{name};{name};{square(50.0085, 7.0085, size)}"
                                      for name, size in sizes.items()])
    here = "lat=50.0101&lon=7.0101"  # across a cell boundary from every zone's corner
    found = api_client.get(f"/parking/v1/zones?{here}", headers=headers).get_json()["items"]
    assert sorted(z["source_id"] for z in found) == sorted(sizes)
    outside = api_client.get("/parking/v1/zones?lat=50.0080&lon=7.0101",
                             headers=headers).get_json()["items"]
    assert outside == []


def test_friedrichshafen_segment_found_next_to_the_kerb(api_client, headers, session, redis,
                                                        shared_data):
    import_file(session, redis, shared_data / "parking/csv/friedrichshafen_easypark.csv",
                provider="Friedrichshafen", format_name="csv",
                mapping_name="friedrichshafen_easypark")
    # Segment 1 runs from (47.6564167, 9.4922497) to (47.6563539, 9.4922679); a point 2 m east
    # of its middle is on it (within half its 8 m width), one 30 m east is not.
    mid_lat, mid_lon = 47.6563853, 9.4922588
    metre_lon = 1 / (111_320 * 0.6737)
    near = api_client.get(f"/parking/v1/zones?lat={mid_lat}&lon={mid_lon + 2 * metre_lon}",
                          headers=headers).get_json()["items"]
    assert near[0]["id"] == "friedrichshafen:1"
    assert near[0]["distance_m"] < 3
    assert near[0]["rules"]["permissions"] == "FreeParking"
    far = api_client.get(f"/parking/v1/zones?lat={mid_lat}&lon={mid_lon + 30 * metre_lon}",
                         headers=headers).get_json()["items"]
    assert "friedrichshafen:1" not in {z["id"] for z in far}


def test_zones_in_a_bbox_paginate(api_client, headers, session, redis, shared_data):
    import_file(session, redis, shared_data / "parking/csv/friedrichshafen_easypark.csv",
                provider="Friedrichshafen", format_name="csv",
                mapping_name="friedrichshafen_easypark")
    seen, cursor = [], None
    while True:
        url = "/parking/v1/zones?bbox=9.40,47.60,9.60,47.70&limit=500"
        page = api_client.get(url + (f"&cursor={cursor}" if cursor else ""),
                              headers=headers).get_json()
        seen.extend(z["id"] for z in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 1697
    geo = api_client.get("/parking/v1/zones?bbox=9.40,47.60,9.60,47.70&limit=2",
                         headers={**headers, "Accept": "application/geo+json"}).get_json()
    assert geo["features"][0]["geometry"]["type"] == "LineString"
    one = api_client.get("/parking/v1/zones/friedrichshafen:1", headers=headers)
    assert one.get_json()["kind"] == "segment"


@pytest.mark.parametrize("query", ["", "lat=50", "lat=50&lon=7&bbox=6,49,8,51"])
def test_zone_query_needs_a_point_or_a_box(api_client, headers, query):
    response = api_client.get(f"/parking/v1/zones?{query}", headers=headers)
    assert response.status_code == 422


def test_quote_for_a_facility(api_client, headers, session, redis):
    import_lots(session, redis, [lot("a", 50.0, 7.0, tariff=TARIFF)])
    # Monday 2 March 2026 09:00-10:10 Berlin = three started half hours.
    response = api_client.get("/parking/v1/quote?facility=testcity:a"
                              "&start=2026-03-02T09:00:00%2B01:00&end=2026-03-02T10:10:00%2B01:00",
                              headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["amount"], body["currency"], body["facility"]) == (300, "EUR", "testcity:a")


def test_quote_for_a_zone_hits_the_daily_maximum(api_client, headers, session, redis):
    tariff = json.dumps(TARIFF).replace('"', '""')
    import_zones_csv(session, redis, [f'z1;Centre;{SQUARE};"{tariff}"'],
                     extra_fields={"tariff": "tariff"})
    body = api_client.get("/parking/v1/quote?zone=zonecity:z1&start=2026-03-02T07:00:00Z"
                          "&end=2026-03-02T19:00:00Z", headers=headers).get_json()
    assert body["amount"] == 800
    assert body["capped"] is True


def test_quote_problems(api_client, headers, session, redis):
    import_lots(session, redis, [lot("free", 50.0, 7.0)])
    times = "&start=2026-03-02T09:00:00Z&end=2026-03-02T10:00:00Z"
    no_tariff = api_client.get(f"/parking/v1/quote?facility=testcity:free{times}",
                               headers=headers)
    assert no_tariff.status_code == 422
    assert no_tariff.get_json()["type"].endswith("/no-tariff")
    both = api_client.get(f"/parking/v1/quote?facility=a:b&zone=c:d{times}", headers=headers)
    assert both.status_code == 400
    backwards = api_client.get("/parking/v1/quote?facility=testcity:free"
                               "&start=2026-03-02T10:00:00Z&end=2026-03-02T09:00:00Z",
                               headers=headers)
    assert backwards.status_code in (400, 422)
    missing = api_client.get(f"/parking/v1/quote?facility=testcity:nope{times}",
                             headers=headers)
    assert missing.status_code == 404


def test_a_zone_cursor_sent_back_with_another_bbox_is_a_400_problem(api_client, headers,
                                                                      session, redis,
                                                                      shared_data):
    import_file(session, redis, shared_data / "parking/csv/friedrichshafen_easypark.csv",
                provider="Friedrichshafen", format_name="csv",
                mapping_name="friedrichshafen_easypark")
    url = "/parking/v1/zones?bbox=9.40,47.60,9.60,47.70&limit=5"
    cursor = api_client.get(url, headers=headers).get_json()["next_cursor"]
    assert api_client.get(f"{url}&cursor={cursor}", headers=headers).status_code == 200
    other = api_client.get(f"/parking/v1/zones?bbox=9.40,47.60,9.50,47.70&limit=5"
                           f"&cursor={cursor}", headers=headers)
    assert other.status_code == 400
    assert other.get_json()["type"].endswith("/invalid-cursor")
