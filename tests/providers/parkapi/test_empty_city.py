"""A city file listing no lots is the publisher's truth; a file of only broken lots is not."""

import json

import sqlalchemy as sa

from providers.models import FeedVersion
from providers.parking.models import ParkingFacility
from tests.factories.parking import import_file

PARKAPI = "parking/parkapi-v1"


def served(session, version_id):
    return session.scalar(sa.select(sa.func.count()).select_from(ParkingFacility)
                          .where(ParkingFacility.feed_version_id == version_id))


def test_a_city_without_lots_imports_as_an_empty_version_with_a_warning(
        session, redis, shared_data):
    for city in ("Frankfurt", "Hamburg"):
        import_file(session, redis, shared_data / PARKAPI / "Aachen.geojson", provider=city,
                    format_name="parkapi")
        outcome = import_file(session, redis, shared_data / PARKAPI / f"{city}.geojson",
                              provider=city, format_name="parkapi")
        assert outcome.status == "imported", outcome.message
        assert outcome.counts["facilities"] == 0
        assert outcome.report.by_code("warning") == {"no_lots": 1}
        version = session.get(FeedVersion, outcome.feed_version_id)
        assert version.status == "active"
        assert served(session, version.id) == 0


def test_a_city_whose_lots_are_all_unusable_is_rejected(session, redis, shared_data, tmp_path):
    document = json.loads((shared_data / PARKAPI / "Aachen.geojson").read_bytes())
    for feature in document["features"]:
        if feature["properties"].get("type") != "city":
            feature["geometry"] = None
    broken = tmp_path / "Aachen-broken.geojson"
    broken.write_text(json.dumps(document))
    first = import_file(session, redis, shared_data / PARKAPI / "Aachen.geojson",
                        provider="Aachen", format_name="parkapi")
    outcome = import_file(session, redis, broken, provider="Aachen", format_name="parkapi")
    assert outcome.status == "rejected"
    assert "no usable facilities" in outcome.message
    assert outcome.report.by_code("error") == {"missing_coordinates": 14, "no_records": 1}
    assert session.get(FeedVersion, first.feed_version_id).status == "active"
    assert served(session, first.feed_version_id) == 14
