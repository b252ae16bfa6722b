"""Tariffs and the price of a stay."""

from datetime import UTC, datetime, timedelta

import pytest

from providers.parking.tariff import Tariff, TariffError, quote

BERLIN_DAYTIME = {
    "currency": "EUR", "timezone": "Europe/Berlin", "free_minutes": 15, "daily_max": 1200,
    "bands": [{"days": [0, 1, 2, 3, 4, 5], "start": "08:00", "end": "20:00",
               "period_minutes": 60, "price": 200}],
}
# Monday 2 March 2026, 09:00 in Berlin (CET, UTC+1) is 08:00 UTC.
MONDAY_9 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_started_periods_are_charged_in_full():
    result = quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9 + timedelta(minutes=15 + 61))
    assert result["amount"] == 400
    assert result["currency"] == "EUR"
    assert result["lines"][0]["periods"] == 2


def test_stay_within_the_free_minutes_costs_nothing():
    assert quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9 + timedelta(minutes=14))["amount"] == 0


def test_night_and_sunday_are_free():
    sunday_noon = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)
    assert quote(BERLIN_DAYTIME, sunday_noon, sunday_noon + timedelta(hours=5))["amount"] == 0
    # Monday 19:00 to 22:00 local: only the period starting 19:15 is charged.
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    assert quote(BERLIN_DAYTIME, evening, evening + timedelta(hours=3))["amount"] == 200


def test_daily_maximum_caps_each_24_hours():
    result = quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9 + timedelta(days=2))
    assert result["capped"] is True
    assert result["amount"] == 2 * 1200


def test_band_over_midnight():
    night = {"currency": "EUR", "bands": [
        {"start": "22:00", "end": "06:00", "period_minutes": 120, "price": 100}]}
    start = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)  # 23:00 Berlin
    assert quote(night, start, start + timedelta(hours=4))["amount"] == 200


def test_offsets_of_the_request_do_not_change_the_price():
    other_zone = MONDAY_9.astimezone(datetime.now(UTC).astimezone().tzinfo)
    assert quote(BERLIN_DAYTIME, other_zone, other_zone + timedelta(hours=3))["amount"] == \
        quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9 + timedelta(hours=3))["amount"]


@pytest.mark.parametrize(("document", "message"), [
    ({"currency": "euro"}, "ISO 4217"),
    ({"timezone": "Mars/Olympus"}, "time zone"),
    ({"bands": [{"start": "8", "period_minutes": 60, "price": 1}]}, "HH:MM"),
    ({"bands": [{"period_minutes": 0, "price": 1}]}, "period"),
    ({"bands": [{"price": 1}]}, "period_minutes"),
])
def test_invalid_tariffs_say_what_is_wrong(document, message):
    with pytest.raises(TariffError, match=message):
        Tariff.from_dict(document)


def test_quote_needs_an_end_after_the_start():
    with pytest.raises(TariffError, match="after"):
        quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9)
    with pytest.raises(TariffError, match="at most"):
        quote(BERLIN_DAYTIME, MONDAY_9, MONDAY_9 + timedelta(days=40))


def test_a_flat_step_ends_where_its_band_ends():
    # Sunday flat 5 € for the day; Monday hourly: a stay from Sunday 20:00 to Monday 02:00
    # pays the flat Sunday step and the two Monday hours after midnight.
    tariff = {"bands": [
        {"days": [6], "start": "00:00", "end": "24:00", "rates": [{"until": 1440, "price": 500}]},
        {"days": [0], "start": "00:00", "end": "24:00", "rates": [
            {"period_minutes": 60, "price": 100}]}]}
    sunday_20 = datetime(2026, 3, 8, 19, 0, tzinfo=UTC)
    assert quote(tariff, sunday_20, sunday_20 + timedelta(hours=6))["amount"] == 700


def test_a_band_cap_limits_each_stretch_in_the_band():
    tariff = {"bands": [{"start": "19:00", "end": "06:00", "max": 600, "rates": [
        {"period_minutes": 60, "price": 150}]}]}
    evening = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 19:00 Berlin
    assert quote(tariff, evening, evening + timedelta(hours=11))["amount"] == 600
    assert quote(tariff, evening, evening + timedelta(hours=3))["amount"] == 450


@pytest.mark.parametrize(("rates", "message"), [
    ([{"until": 60, "price": 100}, {"until": 30, "price": 50}], "grow"),
    ([{"price": 100}], "only the last rate"),
    ([], "non-empty"),
])
def test_invalid_rate_lists_say_what_is_wrong(rates, message):
    with pytest.raises(TariffError, match=message):
        Tariff.from_dict({"bands": [{"rates": rates}]})
