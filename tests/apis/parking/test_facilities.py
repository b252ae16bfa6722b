"""The facility resources of the parking API on real and small imported feeds."""

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from geopy.distance import geodesic

from app.db import utcnow
from tests.factories.parking import import_file, import_lots, lot
from tests.support.gateway import make_developer, make_plan

URL = "/parking/v1/facilities"


@pytest.fixture
def headers(session):
    """Credentials of a developer subscribed to parking."""
    return make_developer(session, plan=make_plan(session)).headers


def aachen(session, redis, shared_data):
    import_file(session, redis, shared_data / "parking/datex2/aachen-static.xml",
                provider="Aachen", format_name="datex2")
    import_file(session, redis, shared_data / "parking/datex2/aachen-realtime.xml",
                provider="Aachen", format_name="datex2")


def test_point_next_to_an_aachen_facility_returns_it_first_with_its_distance(
        api_client, headers, session, redis, shared_data):
    aachen(session, redis, shared_data)
    here = (50.7810, 6.0930)  # a few tens of metres from P01-Eurogress (50.780552, 6.0927987)
    response = api_client.get(f"{URL}?lat={here[0]}&lon={here[1]}&radius=1000", headers=headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert items[0]["id"] == "aachen:P1"
    assert items[0]["name"] == "P01-Eurogress"
    expected = geodesic(here, (50.780552, 6.0927987)).m
    assert items[0]["distance_m"] == pytest.approx(expected, abs=0.1)
    distances = [i["distance_m"] for i in items]
    assert distances == sorted(distances)
    assert all(d <= 1000 for d in distances)


def test_near_search_matches_brute_force_geodesic(api_client, headers, session, redis,
                                                  shared_data):
    aachen(session, redis, shared_data)
    from providers.datex2.adapter import Datex2Adapter
    records = Datex2Adapter().parse(
        (shared_data / "parking/datex2/aachen-static.xml").read_bytes(), {}
    ).records["facilities"]
    centre = (50.7760, 6.0850)
    expected = sorted((geodesic(centre, (r.lat, r.lon)).m, r.source_id) for r in records)
    expected = [sid for d, sid in expected if d <= 800]
    response = api_client.get(f"{URL}?lat={centre[0]}&lon={centre[1]}&radius=800&limit=100",
                              headers=headers)
    assert [i["source_id"] for i in response.get_json()["items"]] == expected


@pytest.mark.parametrize("radius", [150, 25_000])
def test_near_search_across_grid_cells_matches_brute_force(api_client, headers, session, redis,
                                                          radius):
    # Lots on both sides of lookup cell boundaries (every 0.01 degree), and far away; a small
    # radius probes a few cells, a large one the coordinate index: both find the same set.
    rng = random.Random(3)
    points = [(50.01 + rng.uniform(-0.002, 0.002), 7.01 + rng.uniform(-0.002, 0.002))
              for _ in range(40)] + [(50.0 + rng.uniform(-0.3, 0.3), 7.0 + rng.uniform(-0.3, 0.3))
                                     for _ in range(40)]
    import_lots(session, redis, [lot(f"l{i}", lat, lon) for i, (lat, lon) in enumerate(points)])
    centre = (50.0100, 7.0100)
    expected = sorted((geodesic(centre, p).m, f"l{i}") for i, p in enumerate(points))
    response = api_client.get(f"{URL}?lat={centre[0]}&lon={centre[1]}&radius={radius}"
                              "&limit=100", headers=headers)
    assert [i["source_id"] for i in response.get_json()["items"]] == [
        sid for d, sid in expected if d <= radius]


def test_old_readings_are_flagged_stale_and_not_live(api_client, headers, session, redis,
                                                     shared_data):
    aachen(session, redis, shared_data)  # its status publication is from February 2025
    item = api_client.get(f"{URL}/aachen:P1", headers=headers).get_json()
    availability = item["availability"]
    assert availability["free"] == 412
    assert availability["stale"] is True
    assert availability["live"] is False
    assert availability["age_seconds"] > 86_400


def test_fresh_reading_is_live_and_the_threshold_is_configurable(
        api_client, headers, session, redis, app):
    observed = (utcnow() - timedelta(minutes=5)).isoformat()
    import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=10, free=4, observed_at=observed)])
    availability = api_client.get(f"{URL}/testcity:a", headers=headers).get_json()["availability"]
    assert (availability["live"], availability["stale"], availability["free"]) == (True, False, 4)
    assert 299 <= availability["age_seconds"] <= 600
    app.config["PARKING_STALE_AFTER_SECONDS"] = 60
    try:
        availability = api_client.get(f"{URL}/testcity:a", headers=headers).get_json()[
            "availability"]
    finally:
        app.config["PARKING_STALE_AFTER_SECONDS"] = 900
    assert availability["stale"] is True


def test_min_free_counts_only_live_readings(api_client, headers, session, redis):
    fresh = utcnow().isoformat()
    old = (utcnow() - timedelta(hours=3)).isoformat()
    import_lots(session, redis, [
        lot("many", 50.0, 7.0, free=50, capacity=60, observed_at=fresh),
        lot("few", 50.0005, 7.0, free=2, capacity=60, observed_at=fresh),
        lot("stale", 50.001, 7.0, free=99, capacity=100, observed_at=old),
        lot("unknown", 50.0015, 7.0, capacity=100),
    ])
    response = api_client.get(f"{URL}?lat=50&lon=7&radius=500&min_free=10", headers=headers)
    assert [i["source_id"] for i in response.get_json()["items"]] == ["many"]


def test_filters_kind_ev_and_open_at(api_client, headers, session, redis):
    import_lots(session, redis, [
        lot("g", 50.0, 7.0, kind="Parkhaus", opening_hours="Mo-Fr 08:00-18:00", ev="ja"),
        lot("u", 50.0, 7.0001, kind="Tiefgarage", opening_hours="24/7"),
        lot("s", 50.0, 7.0002, kind="Parkplatz", ev_spaces=4),
    ])
    def ids(query):
        response = api_client.get(f"{URL}?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return sorted(i["source_id"] for i in response.get_json()["items"])
    assert ids("kind=garage,underground") == ["g", "u"]
    assert ids("ev_charging=true") == ["g", "s"]
    sunday = datetime(2026, 3, 8, 12, 0, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    assert ids(f"open_at={sunday}") == ["u"]
    assert ids("bbox=6.9999,49.9999,7.00015,50.0001") == ["g", "u"]


def test_cursor_pagination_walks_every_result_once(api_client, headers, session, redis):
    import_lots(session, redis, [lot(f"l{i}", 50.0 + i * 0.0001, 7.0) for i in range(25)])
    for query in ("lat=50&lon=7&radius=5000", "provider=testcity"):
        seen, cursor = [], None
        while True:
            url = f"{URL}?{query}&limit=7" + (f"&cursor={cursor}" if cursor else "")
            page = api_client.get(url, headers=headers).get_json()
            seen.extend(i["source_id"] for i in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(f"l{i}" for i in range(25))
        assert len(seen) == 25
    near = api_client.get(f"{URL}?lat=50&lon=7&radius=5000&limit=3", headers=headers).get_json()
    assert [i["source_id"] for i in near["items"]] == ["l0", "l1", "l2"]


def test_geojson_on_request(api_client, headers, session, redis):
    import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=3)])
    response = api_client.get(f"{URL}?lat=50&lon=7", headers={
        **headers, "Accept": "application/geo+json"})
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [7.0, 50.0]}
    assert feature["properties"]["capacity"]["total"] == 3


def test_detail_has_tariff_hours_and_payment(api_client, headers, session, redis):
    tariff = {"currency": "EUR", "bands": [{"start": "00:00", "end": "24:00",
                                             "period_minutes": 60, "price": 150}]}
    import_lots(session, redis, [lot("a", 50.0, 7.0, tariff=tariff, opening_hours="24/7")])
    item = api_client.get(f"{URL}/testcity:a", headers=headers).get_json()
    assert item["tariff"]["bands"][0]["price"] == 150
    assert item["opening_times"][0]["end"] == "24:00"
    assert item["availability"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("lat=50", "lat"), ("lat=91&lon=7", "lat"), ("lat=50&lon=7&radius=0", "radius"),
    ("bbox=1,2,3", "bbox"), ("kind=castle", "kind"), ("limit=1000", "limit"),
    ("open_at=2026-03-02T10:00:00", "open_at")])
def test_bad_queries_are_422_naming_the_field(api_client, headers, query, field):
    response = api_client.get(f"{URL}?{query}", headers=headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in {e["field"].split(".")[0] for e in response.get_json()["errors"]}


@pytest.mark.parametrize(("query", "other"), [
    ("lat=50&lon=7&radius=5000", "lat=50&lon=7&radius=4000"),
    ("provider=testcity", "provider=testcity&ev_charging=true"),
    ("kind=garage,underground", "kind=garage"),
])
def test_a_cursor_sent_back_with_other_filters_is_a_400_problem(api_client, headers, session,
                                                                 redis, query, other):
    import_lots(session, redis, [lot(f"l{i}", 50.0 + i * 0.0001, 7.0, kind="garage")
                                 for i in range(5)])
    cursor = api_client.get(f"{URL}?{query}&limit=2", headers=headers).get_json()["next_cursor"]
    assert cursor is not None
    same = api_client.get(f"{URL}?{query}&limit=2&cursor={cursor}", headers=headers)
    assert same.status_code == 200
    response = api_client.get(f"{URL}?{other}&limit=2&cursor={cursor}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["type"].endswith("/invalid-cursor")
    assert "other filters" in response.get_json()["detail"]


def test_unknown_facility_and_bad_cursor_are_problems(api_client, headers):
    missing = api_client.get(f"{URL}/nobody:1", headers=headers)
    assert missing.status_code == 404
    assert "nobody:1" in missing.get_json()["detail"]
    assert api_client.get(f"{URL}/no-colon", headers=headers).status_code == 404
    bad = api_client.get(f"{URL}?cursor=!!!", headers=headers)
    assert bad.status_code == 400
    assert bad.get_json()["type"].endswith("/invalid-cursor")


def forged_cursor(data: object) -> str:
    """A cursor built by the client, not by the API."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(("query", "content"), [
    ("", {"i": "x"}), ("", {"i": True}), ("", {"i": -1}), ("", {"i": 2**64}),
    ("", {"i": 1.5}), ("", {"i": 1, "z": 2}), ("", [1]),
    ("lat=50&lon=7&radius=1000&", {"i": 1, "d": "x"}),
    ("lat=50&lon=7&radius=1000&", {"i": 1, "d": None}),
    ("lat=50&lon=7&radius=1000&", {"i": 1, "d": -3}),
    ("lat=50&lon=7&radius=1000&", {"i": 1, "d": 1e400}),
])
def test_a_tampered_cursor_is_a_400_problem_not_a_500(api_client, headers, session, redis,
                                                       query, content):
    import_lots(session, redis, [lot("a", 50.0, 7.0), lot("b", 50.001, 7.0)])
    response = api_client.get(f"{URL}?{query}cursor={forged_cursor(content)}", headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/invalid-cursor")


def test_history_is_aggregated_by_interval(api_client, headers, session, redis):
    base = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for minute, free in ((0, 10), (5, 20), (20, 30), (50, 40)):
        import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=50, free=free,
                                         observed_at=(base + timedelta(minutes=minute))
                                         .isoformat())])
    start, end = base.isoformat().replace("+00:00", "Z"), (base + timedelta(hours=1)
                                                         ).isoformat().replace("+00:00", "Z")
    response = api_client.get(f"{URL}/testcity:a/availability?from={start}&to={end}"
                              "&interval=900", headers=headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["samples"], i["free_avg"], i["free_min"], i["free_max"]) for i in items] == [
        (2, 15.0, 10, 20), (1, 30.0, 30, 30), (1, 40.0, 40, 40)]
    assert items[1]["start"] == "2026-03-02T08:15:00+00:00"
    too_many = api_client.get(f"{URL}/testcity:a/availability?from=2020-01-01T00:00:00Z"
                              f"&to={end}&interval=60", headers=headers)
    assert too_many.status_code == 422
    assert too_many.get_json()["type"].endswith("/invalid-range")
