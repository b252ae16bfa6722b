"""The list views send their pages without the marshmallow dump: the result must be the dump."""

from datetime import timedelta

import pytest

from apis.parking.facilities.schemas import AvailabilitySchema, FacilityPageSchema, FacilitySchema
from apis.parking.output import _AVAILABILITY_KEYS, facility_item, zone_item
from apis.parking.zones.schemas import ZonePageSchema, ZoneSchema
from app.db import utcnow
from providers.parking.queries import FacilitySearch, search_facilities, zones_at, zones_in_bbox
from tests.factories.parking import import_file, import_lots, import_zones_csv, lot
from tests.support.gateway import make_developer, make_plan

SQUARE = "POLYGON ((7 50, 7.01 50, 7.01 50.01, 7 50.01, 7 50))"


@pytest.fixture
def headers(session):
    """Credentials of a developer subscribed to parking."""
    return make_developer(session, plan=make_plan(session)).headers


def assert_dumped_alike(item, form, schema):
    dumped = schema.dump(item)
    assert form(item) == dumped
    assert list(form(item)) == list(dumped)  # the same key order, so the same JSON text
    for key, value in dumped.items():
        if isinstance(value, dict):
            assert list(form(item)[key]) == list(value), key


def test_availability_keys_are_the_schema_fields():
    assert tuple(AvailabilitySchema().fields) == _AVAILABILITY_KEYS


def test_facility_items_are_what_the_schema_dumps(session, redis, shared_data):
    import_file(session, redis, shared_data / "parking/datex2/aachen-static.xml",
                provider="Aachen", format_name="datex2")
    import_file(session, redis, shared_data / "parking/datex2/aachen-realtime.xml",
                provider="Aachen", format_name="datex2")  # stale readings
    fresh = (utcnow() - timedelta(minutes=3)).isoformat()
    tariff = {"currency": "EUR", "bands": [{"start": "00:00", "end": "24:00",
                                             "period_minutes": 60, "price": 150}]}
    import_lots(session, redis, [
        lot("live", 50.781, 6.093, capacity=40, free=7, observed_at=fresh, ev_spaces=3,
            tariff=tariff, opening_hours="24/7", ev="ja", kind="Parkhaus"),
        lot("bare", 50.7811, 6.0931),
    ])
    searches = [FacilitySearch(lat=50.781, lon=6.093, radius=2000, limit=50),
                FacilitySearch(bbox=(6.0, 50.7, 6.2, 50.9), limit=50),
                FacilitySearch(provider="testcity", min_free=1)]
    seen = set()
    for search in searches:
        page = search_facilities(session, redis, search)
        assert page["items"]
        for item in page["items"]:
            assert_dumped_alike(item, facility_item, FacilitySchema())
            seen.add((item["availability"] is None,
                      (item["availability"] or {}).get("stale"), "distance_m" in item))
        assert {"items": [facility_item(i) for i in page["items"]],
                "next_cursor": page["next_cursor"]} == FacilityPageSchema().dump(page)
    # live, stale and no readings; with and without a distance
    assert {(False, False, True), (False, True, True), (True, None, True),
            (False, True, False)} <= seen


def test_zone_items_are_what_the_schema_dumps(session, redis, shared_data):
    import_file(session, redis, shared_data / "parking/csv/friedrichshafen_easypark.csv",
                provider="Friedrichshafen", format_name="csv",
                mapping_name="friedrichshafen_easypark")
    import_zones_csv(session, redis, [f"z1;Centre;{SQUARE}"])
    pages = [{"items": zones_at(session, 47.6563853, 9.4922588), "next_cursor": None},
             {"items": zones_at(session, 50.005, 7.005), "next_cursor": None},
             zones_in_bbox(session, (9.40, 47.60, 9.55, 47.70), limit=20, cursor=None)]
    for page in pages:
        assert page["items"]
        for item in page["items"]:
            assert_dumped_alike(item, zone_item, ZoneSchema())
        assert {"items": [zone_item(i) for i in page["items"]],
                "next_cursor": page["next_cursor"]} == ZonePageSchema().dump(page)


def test_list_responses_are_plain_json_pages(api_client, headers, session, redis):
    import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=3)])
    response = api_client.get("/parking/v1/facilities?lat=50&lon=7", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert list(response.get_json()) == ["items", "next_cursor"]
    assert list(response.get_json()["items"][0]) == list(FacilitySchema().fields)
