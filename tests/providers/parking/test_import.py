"""Parking imports through the real sync path: versions, live availability, history, failures."""

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from providers.fetch import Payload
from providers.models import FeedVersion, Provider
from providers.parking.live import KEY_PREFIX, live_key
from providers.parking.models import ParkingAvailabilityReading, ParkingFacility, ParkingZone
from providers.sync import import_payload
from tests.factories.parking import import_file, import_lots, lot

DATEX = "parking/datex2"


def served_facilities(session, provider_slug):
    return session.scalars(
        sa.select(ParkingFacility)
        .join(FeedVersion, FeedVersion.id == ParkingFacility.feed_version_id)
        .join(Provider, Provider.id == ParkingFacility.provider_id)
        .where(FeedVersion.status == "active", Provider.slug == provider_slug)
    ).all()


def test_aachen_static_then_realtime_applies_availability_to_every_site(
        session, redis, shared_data):
    static = import_file(session, redis, shared_data / DATEX / "aachen-static.xml",
                         provider="Aachen", format_name="datex2")
    assert static.status == "imported"
    assert static.counts == {"facilities": 17, "availability": 0, "zones": 0}
    realtime = import_file(session, redis, shared_data / DATEX / "aachen-realtime.xml",
                           provider="Aachen", format_name="datex2")
    assert realtime.status == "applied"
    assert realtime.counts == {"facilities": 17, "availability": 17, "zones": 0}
    assert realtime.report.by_code("warning") == {}
    facilities = served_facilities(session, "aachen")
    assert len(facilities) == 17
    values = redis.mget([live_key(f.provider_id, f.source_id) for f in facilities])
    assert all(v is not None for v in values)
    p1 = json.loads(redis.get(live_key(facilities[0].provider_id, "P1")))
    assert (p1["free"], p1["occupied"], p1["status"]) == (412, 148, "open")
    assert p1["observed_at"] == "2025-02-07T19:05:34.176000+00:00"
    assert datetime.fromisoformat(p1["received_at"]) > datetime(2026, 1, 1, tzinfo=UTC)
    assert session.scalar(sa.select(sa.func.count()).select_from(ParkingAvailabilityReading)) == 17


def test_friedrichshafen_55_sites_all_get_readings(session, redis, shared_data):
    import_file(session, redis, shared_data / DATEX / "friedrichshafen-sensors-static.xml",
                provider="Friedrichshafen", format_name="datex2")
    realtime = import_file(session, redis,
                           shared_data / DATEX / "friedrichshafen-sensors-realtime.xml",
                           provider="Friedrichshafen", format_name="datex2")
    assert realtime.counts["availability"] == 55
    assert realtime.counts["facilities"] == 55
    assert len(redis.keys(f"{KEY_PREFIX}*")) == 55


def test_mdm_status_reference_with_label_matches_the_facility(session, redis, shared_data):
    import_file(session, redis, shared_data / DATEX / "vrs_bondorf-static.xml",
                provider="VRS", format_name="datex2")
    realtime = import_file(session, redis, shared_data / DATEX / "vrs_bondorf-realtime.xml",
                           provider="VRS", format_name="datex2")
    assert realtime.counts["availability"] == 1
    facility = served_facilities(session, "vrs")[0]
    assert json.loads(redis.get(live_key(facility.provider_id, "1035")))["free"] == 215


def test_realtime_for_unknown_facilities_warns_and_applies_the_rest(session, redis, shared_data):
    import_file(session, redis, shared_data / DATEX / "aachen-static.xml",
                provider="Mixed", format_name="datex2")
    original = (shared_data / DATEX / "aachen-realtime.xml").read_bytes()
    renamed = original.replace(b'id="P1"', b'id="P999"', 1)
    outcome = import_payload(session, provider="Mixed", payload=Payload(renamed, "rt.xml"),
                             format_name="datex2", config={}, live=redis)
    assert outcome.status == "applied"
    assert outcome.counts["availability"] == 16
    assert outcome.report.by_code("warning") == {"unknown_facility": 1}
    assert outcome.report.examples["unknown_facility"][0].value == "P999"


def test_realtime_before_any_static_data_reports_every_entry(session, redis, shared_data):
    outcome = import_file(session, redis, shared_data / DATEX / "aachen-realtime.xml",
                          provider="Nobody", format_name="datex2")
    assert outcome.status == "applied"
    assert outcome.counts["availability"] == 0
    assert outcome.report.by_code("warning") == {"unknown_facility": 17}


def test_same_status_twice_appends_history_once(session, redis, shared_data):
    import_file(session, redis, shared_data / DATEX / "aachen-static.xml", provider="Aachen",
                format_name="datex2")
    for _ in range(2):
        import_file(session, redis, shared_data / DATEX / "aachen-realtime.xml",
                    provider="Aachen", format_name="datex2")
    assert session.scalar(sa.select(sa.func.count()).select_from(ParkingAvailabilityReading)) == 17


def test_older_reading_never_replaces_a_newer_one_in_the_live_store(session, redis):
    newer = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).isoformat()
    older = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).isoformat()
    import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=10, free=7, observed_at=newer)])
    outcome = import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=10, free=1,
                                               observed_at=older, name="renamed")])
    assert outcome.status == "imported"
    facility = served_facilities(session, "testcity")[0]
    assert facility.name == "renamed"
    assert json.loads(redis.get(live_key(facility.provider_id, "a")))["free"] == 7
    assert session.scalar(sa.select(sa.func.count()).select_from(ParkingAvailabilityReading)) == 2


def test_bad_xml_and_a_bomb_are_rejected_and_the_served_data_stays(
        session, redis, shared_data, mobihub, tmp_path):
    import_file(session, redis, shared_data / DATEX / "aachen-static.xml", provider="Aachen",
                format_name="datex2")
    before = {f.id for f in served_facilities(session, "aachen")}
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
                     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d2LogicalModel>&b;'
                     b"</d2LogicalModel>")
    broken = tmp_path / "broken.xml"
    broken.write_bytes((shared_data / DATEX / "aachen-static.xml").read_bytes()[:3000])
    for path, words in ((bomb, "unsafe"), (broken, "not well-formed")):
        result = mobihub("feeds", "import", str(path), "--provider", "Aachen", "--format",
                         "datex2", "--json")
        assert result.exit_code == 1
        summary = json.loads(result.output)
        assert summary["status"] == "rejected"
        assert words in summary["message"]
        assert "Traceback" not in result.output
    assert {f.id for f in served_facilities(session, "aachen")} == before
    statuses = session.scalars(sa.select(FeedVersion.status).order_by(FeedVersion.id)).all()
    assert statuses == ["active", "rejected", "rejected"]


def test_cli_import_prints_counts_and_warnings(mobihub, shared_data):
    result = mobihub("feeds", "import", str(shared_data / DATEX / "aachen-realtime.xml"),
                     "--provider", "Nowhere", "--format", "datex2")
    assert result.exit_code == 0
    assert "availability" in result.output
    assert "unknown_facility x17" in result.output


def test_cli_import_with_a_mapping_file(mobihub, shared_data, session):
    result = mobihub("feeds", "import", str(shared_data / "parking/csv/reutlingen.csv"),
                     "--provider", "Reutlingen", "--format", "csv", "--mapping",
                     "docs/mappings/reutlingen.yaml", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"] == {"facilities": 114, "availability": 0,
                                                   "zones": 0}


def test_csv_without_a_mapping_is_rejected_with_the_reason(mobihub, shared_data):
    result = mobihub("feeds", "import", str(shared_data / "parking/csv/reutlingen.csv"),
                     "--provider", "Reutlingen", "--format", "csv", "--json")
    assert result.exit_code == 1
    assert "needs a field mapping" in json.loads(result.output)["message"]


def test_city_file_without_lots_replaces_the_lots_with_an_empty_version(
        session, redis, shared_data):
    import_file(session, redis, shared_data / "parking/parkapi-v1/Aachen.geojson",
                provider="Aachen ParkAPI", format_name="parkapi")
    outcome = import_file(session, redis, shared_data / "parking/parkapi-v1/Frankfurt.geojson",
                          provider="Aachen ParkAPI", format_name="parkapi")
    assert outcome.status == "imported"
    assert served_facilities(session, "aachen-parkapi") == []


def test_cli_prints_the_reason_of_a_rejection_once(mobihub, tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                     '"geometry": null, "properties": {"name": "Nowhere lot"}}]}')
    result = mobihub("feeds", "import", str(empty), "--provider", "Nowhere", "--format",
                     "parkapi")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == "Feed rejected; the data served before is unchanged."
    assert lines[1].startswith("feed version: ")
    assert lines[2:] == [
        "  facilities                    0",
        "  availability                  0",
        "  zones                         0",
        "errors: missing_coordinates x1, no_records x1",
        "  error   no_records                    The feed holds no usable facilities or zones;"
        " nothing replaces the data served now.",
        f"  error   missing_coordinates          {empty}:0 [features] Lot 'Nowhere lot' has no"
        " Point geometry in WGS84; it is skipped.",
    ]
    assert result.output.count("no usable facilities") == 1


def test_all_real_static_files_import(session, redis, shared_data):
    cases = [
        ("json/karlsruhe.json", "geojson", "karlsruhe", 90, 39),
        ("json/freiburg.json", "geojson", "freiburg", 19, 19),
        ("json/herrenberg.json", "geojson", "herrenberg", 26, 4),
        ("json/heidelberg.json", "geojson", "heidelberg", 22, 22),
        ("json/pforzheim.json", "geojson", "pforzheim", 15, 0),
        ("csv/bielefeld.csv", "csv", "bielefeld", 853, 21),
        ("csv/reutlingen.csv", "csv", "reutlingen", 114, 0),
    ]
    for path, format_name, name, facilities, readings in cases:
        outcome = import_file(session, redis, shared_data / "parking" / path, provider=name,
                              format_name=format_name, mapping_name=name)
        assert outcome.status == "imported", (name, outcome.message)
        assert outcome.counts == {"facilities": facilities, "availability": readings,
                                  "zones": 0}, name


def test_friedrichshafen_segments_import_as_zones(session, redis, shared_data):
    outcome = import_file(session, redis, shared_data / "parking/csv/friedrichshafen_easypark.csv",
                          provider="Friedrichshafen", format_name="csv",
                          mapping_name="friedrichshafen_easypark")
    assert outcome.counts == {"facilities": 0, "availability": 0, "zones": 1697}
    assert session.scalar(sa.select(sa.func.count()).select_from(ParkingZone)) == 1697


def test_reimport_supersedes_and_old_versions_prune_with_their_rows(session, redis):
    for free in range(5):
        import_lots(session, redis, [lot("a", 50.0, 7.0, capacity=10 + free)])
    versions = session.scalars(sa.select(FeedVersion.status)).all()
    assert sorted(versions) == ["active", "superseded", "superseded"]
    assert session.scalar(sa.select(sa.func.count()).select_from(ParkingFacility)) == 3
    assert [f.capacity for f in served_facilities(session, "testcity")] == [14]
