"""Price texts and price lists turned into tariffs: what real publishers write, and refusals."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from providers.parking.tariff import quote
from providers.parking.tariff_text import TariffTextError, parse_price_list, parse_tariff_text

# Tuesday 3 March 2026, 10:00 in Berlin (CET) is 09:00 UTC.
TUESDAY_10 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def price(tariff, hours: float, start: datetime = TUESDAY_10) -> int:
    return quote(tariff, start, start + timedelta(hours=hours))["amount"]


def pforzheim_text(shared_data, name: str) -> str:
    lots = json.loads((shared_data / "parking/json/pforzheim.json").read_bytes())
    return next(lot["feeInformation"] for lot in lots if lot["name"] == name)


def test_kino_pforzheim_day_steps_then_hours_and_a_capped_night(shared_data):
    tariff = parse_tariff_text(pforzheim_text(shared_data, "Kino Pforzheim"))
    # "bis 60 Minuten: 2,20 €" + "jede weitere angefangene Stunde: 2,20 €".
    assert price(tariff, 2) == 440
    assert price(tariff, 0.5) == 100
    # Night "je angefangene Stunde 1,50 € (max. 6,00 €)": 20:00 to 05:00 is 9 started hours.
    evening = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    assert price(tariff, 9, evening) == 600
    # The lost-ticket fee is another product, not a line of the stay's price.
    assert all("1400" not in json.dumps(band) for band in tariff["bands"])


def test_parkhotel_price_list_with_a_24_hour_maximum(shared_data):
    tariff = parse_tariff_text(pforzheim_text(shared_data, "Parkhotel Pforzheim Tiefgarage"))
    assert price(tariff, 2) == 250
    assert price(tariff, 10) == 1050
    assert price(tariff, 11) == 1100  # "ab 10 Std.: je Std. 0,50 €"
    assert price(tariff, 23) == 1500  # "max. 24 Std. Preis beträgt 15,00 €"
    assert tariff["daily_max"] == 1500


def test_goldene_pforte_charges_each_started_hour(shared_data):
    tariff = parse_tariff_text(pforzheim_text(shared_data, "Parkhaus Goldene Pforte"))
    assert price(tariff, 2) == 300
    assert price(tariff, 2 + 1 / 60) == 450


@pytest.mark.parametrize(("name", "line"), [
    ("Tiefgarage Bertha-Benz-Halle", "nachttarif mo.-sa. 19:00-06:00 uhr maximal"),
    ("Volksbank-Parkhaus", "volksbank pforzheim girocard"),  # two price columns
    ("Schlössle Galerie", "spezialtarif"),
    ("Goethe-Parkhaus", "spartarif"),
])
def test_real_texts_that_need_a_guess_are_refused_naming_the_line(shared_data, name, line):
    with pytest.raises(TariffTextError, match=line):
        parse_tariff_text(pforzheim_text(shared_data, name))


@pytest.mark.parametrize(("text", "hours", "amount"), [
    ("1. Std. 1,50 €, jede weitere 1,00 €", 3, 350),
    ("Tageshöchstsatz 12 €\nje angefangene 30 Min. 0,80 €", 10, 1200),
    ("je angefangene 30 Min. 0,80 €", 1.25, 240),
    ("erste 30 Minuten frei\nje angefangene Stunde 2,00 €", 1.5, 200),
    ("kostenlos", 5, 0),
    ("Free of charge", 5, 0),
    ("Erste 30 Minuten: 1,00 €\nZweite 30 Minuten: 1,00 €\nJede weitere angefangene Std: "
     "2,00 €", 2, 400),
    ("per hour 2.50 EUR\ndaily maximum 10 EUR", 2, 500),
])
def test_common_price_texts(text, hours, amount):
    assert price(parse_tariff_text(text), hours) == amount


@pytest.mark.parametrize("text", [
    "Ja", "3 Stunden frei", "eine Stunde kostenfrei", "", "bis 60 Minuten: 2,00 €\n"
    "bis 30 Minuten: 1,00 €", "Tagestarif (ab 6 Std.) maximal: 9,00 €",
    "je angefangene Stunde 1,50 €\nbis 2 Stunden: 3,00 €",
])
def test_unclear_texts_are_refused(text):
    with pytest.raises(TariffTextError):
        parse_tariff_text(text)


def test_a_price_list_step_beyond_the_last_entry_is_not_guessed():
    tariff = parse_price_list([{"minutes": 60, "price": 1.5}, {"minutes": 120, "price": 3}],
                              day_start="00:00", day_end="00:00", max_per_24h=0)
    assert price(tariff, 2) == 300
    with pytest.raises(ValueError, match="no price for more than 120 minutes"):
        price(tariff, 3)


def test_a_price_list_valid_per_24_hours_stays_at_its_maximum_and_starts_again():
    tariff = parse_price_list([{"minutes": 60, "price": 2}, {"minutes": 300, "price": 10}],
                              day_start="00:00", day_end="00:00", max_per_24h="true")
    assert price(tariff, 20) == 1000
    assert price(tariff, 25) == 1200


def test_day_and_night_lists_follow_the_day_hours():
    entries = [{"minutes": 60, "price": 2, "tarif": "Day"},
               {"minutes": 60, "price": 0.5, "tarif": "Night"},
               {"minutes": 600, "price": 2, "tarif": "Night"}]
    tariff = parse_price_list(entries, day_start="08:00", day_end="20:00", max_per_24h=0)
    assert price(tariff, 1) == 200
    night = datetime(2026, 3, 3, 21, 0, tzinfo=UTC)  # 22:00 Berlin
    assert price(tariff, 1, night) == 50
    with pytest.raises(TariffTextError, match="whole day"):
        parse_price_list(entries, day_start="00:00", day_end="00:00", max_per_24h=0)
    assert parse_price_list([], day_start="00:00", day_end="00:00", max_per_24h=0) is None
