"""``open_at`` reads opening hours in the feed's time zone (Europe/Berlin unless set)."""

import json
from datetime import UTC, datetime

import pytest

from providers.fetch import Payload
from providers.parking.queries import FacilitySearch, feed_timezone, search_facilities
from providers.sync import import_payload
from tests.factories.parking import LOT_MAPPING, lot


def import_city(session, redis, provider, lat, timezone=None):
    mapping = {**LOT_MAPPING, **({"timezone": timezone} if timezone else {})}
    body = json.dumps({"type": "FeatureCollection", "features": [
        lot("day", lat, 7.0, opening_hours="Mo-Su 08:00-20:00")]}).encode()
    outcome = import_payload(session, provider=provider, payload=Payload(body, "lots.json"),
                             format_name="geojson", config={"mapping": mapping}, live=redis)
    assert outcome.status == "imported", outcome.message


@pytest.mark.parametrize("near", [True, False])
def test_opening_hours_are_local_to_the_feeds_time_zone(session, redis, near):
    import_city(session, redis, "berlin", 50.0)
    import_city(session, redis, "newyork", 50.001, timezone="America/New_York")
    # 21:00 UTC: 22:00 in Berlin (closed), 16:00 in New York (open)
    evening = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    # 10:00 UTC: 11:00 in Berlin (open), 05:00 in New York (closed)
    morning = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    where = {"lat": 50.0, "lon": 7.0, "radius": 1000} if near else {}
    for moment, expected in ((evening, ["newyork:day"]), (morning, ["berlin:day"])):
        page = search_facilities(session, redis, FacilitySearch(open_at=moment, **where))
        assert [item["id"] for item in page["items"]] == expected


def test_a_feed_time_zone_comes_from_its_setting_then_its_mapping_else_berlin():
    assert feed_timezone({"timezone": "Europe/Lisbon",
                          "mapping": {"timezone": "Asia/Tokyo"}}) == "Europe/Lisbon"
    assert feed_timezone({"mapping": {"timezone": "Asia/Tokyo"}}) == "Asia/Tokyo"
    assert feed_timezone({}) == "Europe/Berlin"
    assert feed_timezone(None) == "Europe/Berlin"
    assert feed_timezone({"timezone": "Mars/Olympus_Mons"}) == "Europe/Berlin"
