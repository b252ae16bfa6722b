"""DATEX II v2 parking publications from real publishers, and unsafe or wrong payloads."""

import pytest

from providers.base import FeedFormatError
from providers.datex2.adapter import Datex2Adapter


def parse(payload: bytes):
    return Datex2Adapter().parse(payload, {"source": "test.xml"})


@pytest.mark.parametrize(("name", "count"), [
    ("aachen", 17), ("friedrichshafen-sensors", 55), ("vrs_bondorf", 1)])
def test_static_publications_give_every_site(shared_data, name, count):
    result = parse((shared_data / f"parking/datex2/{name}-static.xml").read_bytes())
    facilities = result.records["facilities"]
    assert len(facilities) == count
    assert len({f.source_id for f in facilities}) == count
    assert result.meta["realtime"] is False
    assert result.report.count("error") == 0
    assert all(-90 < f.lat < 90 and -180 < f.lon < 180 for f in facilities)


@pytest.mark.parametrize(("name", "count"), [
    ("aachen", 17), ("friedrichshafen-sensors", 55), ("vrs_bondorf", 1)])
def test_status_publications_are_realtime_readings(shared_data, name, count):
    result = parse((shared_data / f"parking/datex2/{name}-realtime.xml").read_bytes())
    readings = result.records["availability"]
    assert result.meta["realtime"] is True
    assert len(readings) == count
    assert all(r.free is not None and r.observed_at.tzinfo is not None for r in readings)


def test_aachen_site_is_read_field_by_field(shared_data):
    facilities = parse((shared_data / "parking/datex2/aachen-static.xml").read_bytes()
                       ).records["facilities"]
    eurogress = next(f for f in facilities if f.source_id == "P1")
    assert eurogress.name == "P01-Eurogress"
    assert eurogress.capacity == 560
    assert (eurogress.lat, eurogress.lon) == (50.780552, 6.0927987)
    assert eurogress.kind == "garage"
    assert eurogress.opening_hours == "24/7"


def test_aachen_reading_has_counts_status_and_trend(shared_data):
    readings = parse((shared_data / "parking/datex2/aachen-realtime.xml").read_bytes()
                     ).records["availability"]
    p1 = next(r for r in readings if r.source_id == "P1")
    assert (p1.free, p1.occupied, p1.capacity) == (412, 148, 560)
    assert (p1.status, p1.trend) == ("open", "stable")
    assert p1.observed_at.isoformat() == "2025-02-07T19:05:34.176000+00:00"


def test_mdm_facility_model_reads_capacity_categories(shared_data):
    bondorf = parse((shared_data / "parking/datex2/vrs_bondorf-static.xml").read_bytes()
                    ).records["facilities"][0]
    assert (bondorf.source_id, bondorf.name, bondorf.capacity) == ("1035", "P+R Bondorf", 314)
    assert bondorf.kind == "park_and_ride"
    assert bondorf.capacity_by_category == {"disabled": 4}
    assert bondorf.lat == pytest.approx(48.5243686)


@pytest.mark.parametrize("prefix", ["", "d2:", "x123:"])
def test_any_namespace_prefix_is_read(shared_data, prefix):
    original = (shared_data / "parking/datex2/aachen-static.xml").read_bytes()
    if prefix:
        rewritten = original.replace(b"ns2:", prefix.encode()).replace(
            b"xmlns:ns2=", b"xmlns:" + prefix.rstrip(":").encode() + b"=")
    else:
        rewritten = original.replace(b"ns2:", b"").replace(b"xmlns:ns2=", b"xmlns=")
    assert rewritten != original
    assert len(parse(rewritten).records["facilities"]) == 17


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<d2LogicalModel>&lol3;</d2LogicalModel>"""


def test_xml_bomb_is_refused_as_unsafe():
    with pytest.raises(FeedFormatError, match="unsafe") as caught:
        parse(BOMB)
    assert caught.value.code == "unsafe_xml"


def test_external_entity_is_refused():
    payload = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b"<d2LogicalModel>&x;</d2LogicalModel>")
    with pytest.raises(FeedFormatError) as caught:
        parse(payload)
    assert caught.value.code == "unsafe_xml"


def test_non_xml_payload_is_a_clear_error():
    with pytest.raises(FeedFormatError, match="not XML") as caught:
        parse(b'{"type": "FeatureCollection"}')
    assert caught.value.code == "not_xml"


def test_truncated_xml_names_the_position(shared_data):
    payload = (shared_data / "parking/datex2/aachen-static.xml").read_bytes()[:5000]
    with pytest.raises(FeedFormatError, match=r"not well-formed XML.*line 1") as caught:
        parse(payload)
    assert caught.value.code == "invalid_xml"


def test_wrong_publication_type_is_named():
    payload = (b'<d2LogicalModel xmlns="http://datex2.eu/schema/2/2_0" '
               b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><payloadPublication '
               b'xsi:type="SituationPublication"><situation id="1"/></payloadPublication>'
               b"</d2LogicalModel>")
    with pytest.raises(FeedFormatError, match="SituationPublication") as caught:
        parse(payload)
    assert caught.value.code == "wrong_publication"


def test_other_xml_document_is_not_datex():
    with pytest.raises(FeedFormatError, match="root element is <rss>"):
        parse(b"<rss><channel/></rss>")


def test_record_without_coordinates_is_reported_and_others_kept(shared_data):
    original = (shared_data / "parking/datex2/aachen-static.xml").read_bytes()
    broken = original.replace(b"<ns2:latitude>50.780552</ns2:latitude>", b"", 1)
    result = parse(broken)
    assert len(result.records["facilities"]) == 16
    assert result.report.by_code("error") == {"missing_coordinates": 1}
    assert result.report.examples["missing_coordinates"][0].value == "P1"
