"""Tariffs stated by the real Pforzheim and Heidelberg files, through their mappings."""

from datetime import UTC, datetime, timedelta

from providers.geojson.adapter import GeoJsonAdapter
from providers.parking.tariff import quote
from tests.factories.parking import mapping

TUESDAY_10 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 in Berlin


def facilities(shared_data, name):
    result = GeoJsonAdapter().parse((shared_data / f"parking/json/{name}.json").read_bytes(),
                                    {"source": f"{name}.json", "mapping": mapping(name)})
    return {f.name: f for f in result.records["facilities"]}, result.report


def two_hours(facility) -> int:
    return quote(facility.tariff, TUESDAY_10, TUESDAY_10 + timedelta(hours=2))["amount"]


def test_pforzheim_fee_texts_become_tariffs_with_the_raw_text_kept(shared_data):
    lots, _ = facilities(shared_data, "pforzheim")
    kino = lots["Kino Pforzheim"]
    assert two_hours(kino) == 440  # "bis 60 Minuten: 2,20 €, jede weitere … Stunde: 2,20 €"
    assert kino.attributes["tariff_text"].startswith("Tagestarif 06:00-19:00 Uhr")
    assert two_hours(lots["Parkhotel Pforzheim Tiefgarage"]) == 250  # "bis 2 Std.: 2,50 €"
    assert two_hours(lots["Parkhaus Goldene Pforte"]) == 300  # "Je angefangene Stunde 1,50 €"


def test_pforzheim_texts_not_understood_keep_only_the_raw_text_and_warn(shared_data):
    lots, report = facilities(shared_data, "pforzheim")
    unclear = [f for f in lots.values() if f.tariff is None]
    assert len(unclear) == 12
    assert all(f.attributes["tariff_text"] for f in unclear)
    assert report.by_code("warning")["tariff_not_understood"] == 12
    assert lots["Volksbank-Parkhaus"].tariff is None


def test_heidelberg_price_lists_become_tariffs(shared_data):
    lots, report = facilities(shared_data, "heidelberg")
    # P0: {"minutes": 120, "price": 4.6}; P1 Poststrasse, day hours 07:00-21:00: 120 min 5 €.
    assert two_hours(lots["P0 Am Bismarckplatz"]) == 460
    assert two_hours(lots["P1 Poststrasse"]) == 500
    assert lots["P0 Am Bismarckplatz"].tariff["daily_max"] == 2000
    assert lots["P1 Poststrasse"].attributes["tariff_price_list"]["day_start"] == "07:00"
    # P4 lists night prices although its day tariff covers the whole day: not guessed.
    assert lots["P4 Darmstaedter Hof"].tariff is None
    assert report.by_code("warning")["tariff_not_understood"] == 1
    # An empty price list is no statement at all, and no warning.
    assert lots["P26 Kirchheim"].tariff is None
