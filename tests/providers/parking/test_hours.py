"""Opening hours parsed from publishers' strings and checked at a moment."""

from datetime import UTC, datetime

import pytest

from providers.parking.hours import is_open_at, parse_opening_hours

MONDAY_NOON_BERLIN = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
SATURDAY_1630_BERLIN = datetime(2026, 3, 7, 15, 30, tzinfo=UTC)
SUNDAY_NOON_BERLIN = datetime(2026, 3, 8, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "moment", "expected"), [
    ("24/7", SUNDAY_NOON_BERLIN, True),
    ("Mo-Fr 08:00-20:00; Sa 08:00-14:00; PH off", MONDAY_NOON_BERLIN, True),
    ("Mo-Fr 08:00-20:00; Sa 08:00-14:00; PH off", SATURDAY_1630_BERLIN, False),
    ("Mo-Fr 08:00-20:00; Sa 08:00-14:00; PH off", SUNDAY_NOON_BERLIN, False),
    ("Mo - Su 08:00-17:00", SUNDAY_NOON_BERLIN, True),
    ("Mo - Su 00:00-24:00; PH 00:00-24:00", SATURDAY_1630_BERLIN, True),
    ("Fr-Mo 18:00-02:00", datetime(2026, 3, 3, 0, 30, tzinfo=UTC), True),  # Tue 01:30
    ("durchgehend geöffnet", MONDAY_NOON_BERLIN, True),
])
def test_opening_hours(text, moment, expected):
    assert is_open_at(parse_opening_hours(text), moment) is expected


@pytest.mark.parametrize("text", [None, "", "nach Vereinbarung", "Mo-Fr"])
def test_unknown_hours_are_unknown_not_guessed(text):
    assert parse_opening_hours(text) is None
    assert is_open_at(parse_opening_hours(text), MONDAY_NOON_BERLIN) is None
