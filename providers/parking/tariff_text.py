"""Structured tariffs from what publishers actually write: price texts and price lists.

Real feeds carry prices as German or English free text (Pforzheim ``feeInformation``:
"bis 30 Minuten: 1,00 €\\njede weitere angefangene Stunde: 2,20 €\\nTageshöchstsatz: 12,00 €")
or as a list of cumulative prices per stay length (Heidelberg ``prices``). Both become the
tariff document of :mod:`providers.parking.tariff`.

The text parser reads line by line and knows a closed set of line shapes (time-band headers,
"bis N Minuten", "jede weitere angefangene Stunde", daily maxima, "kostenlos", free first
minutes). Lines about other products (lost ticket, weekly or value cards, pay machines) are
skipped because they do not change the price of a stay. Any other line makes the whole text
*not understood*: the caller keeps the raw text and no structured tariff, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.parking.tariff import Tariff, TariffError

_DAYS = {"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6,
         "tu": 1, "we": 2, "th": 3, "su": 6}
_PRICE = r"(\d{1,4}(?:[.,]\d{1,2})?)\s*(?:€|eur\b|euro\b)"
_NUMBER = r"(\d{1,4}(?:[.,]\d{1,2})?)"
_UNIT = r"(minuten|minute|min\.?|stunden|stunde|std\.?|h|hours?|minutes?|mins?)"
_DAY = r"(?:mo|di|mi|do|fr|sa|so|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)\.?"
_DAY_RANGE = rf"({_DAY})(?:\s*(?:-|\u2013|bis)\s*({_DAY}))?"
_TIME_RANGE = r"(\d{1,2})[:.](\d{2})\s*(?:-|\u2013|bis)\s*(\d{1,2})[:.](\d{2})"
_TARIFF_NAMES = r"(?:tagestarif|normaltarif|nachttarif|abendtarif|abend-/nachttarif|tarif)"

_FREE_TEXTS = {"kostenlos", "kostenfrei", "gebührenfrei", "gebuehrenfrei", "frei", "free",
               "free of charge", "gratis", "keine gebühren", "keine gebuehren"}
_IGNORED = ("parkscheinverlust", "verlust des parkscheins", "wochenkarte", "monatskarte",
            "wertkarte", "kassenautomat", "zugang zur", "für kunden", "fuer kunden",
            "lost ticket")
_HEADER = re.compile(rf"^{_TARIFF_NAMES}?\s*\(?\s*(?:{_DAY_RANGE})?\s*:?\s*{_TIME_RANGE}"
                     r"\s*(?:uhr)?\s*\)?\s*:?$")
_STEP_UP_TO = re.compile(rf"^(?:bis\s*(?:zu\s*)?)?{_NUMBER}\s*{_UNIT}\s*:?\s*{_PRICE}$")
_STEP_ORDINAL = re.compile(rf"^(erste|zweite|dritte|vierte)\s+{_NUMBER}\s*{_UNIT}\s*:?\s*"
                           rf"{_PRICE}$")
_STEP_NUMBERED = re.compile(rf"^(\d)\.\s*{_UNIT}\s*:?\s*{_PRICE}$")  # "1. Std. 1,50 €"
_FURTHER = re.compile(rf"^jede\s+weitere\s*(?:angefangene)?\s*:?\s*{_PRICE}$")
_FIRST_HOUR_TAKT = re.compile(rf"^abrechnung erste stunde im {_NUMBER}\s*{_UNIT}[- ]takt\s*:?"
                              rf"\s*{_PRICE}$")
_PERIODS_UP_TO = re.compile(rf"^bis\s*(?:zu\s*)?{_NUMBER}\s*{_UNIT}\s*:?\s*je\s+angefangene\s+"
                            rf"{_NUMBER}?\s*{_UNIT}\s*:?\s*{_PRICE}$")
_PER_PERIOD = re.compile(
    rf"^(?:ab\s*{_NUMBER}\s*{_UNIT}\s*:?\s*)?"
    rf"(?:jede\s+weitere\s+(?:angefangene\s+)?|je\s+(?:weitere\s+)?(?:angefangene\s+)?|pro\s+"
    rf"|per\s+(?:started\s+)?|each\s+(?:further\s+|additional\s+)?(?:started\s+)?)"
    rf"{_NUMBER}?\s*{_UNIT}\s*:?\s*{_PRICE}\s*(?:\(\s*max\.?\s*{_PRICE}\s*\))?$")
_DAILY_MAX = re.compile(
    rf"^(?:tageshöchstsatz|tageshöchstgebühr|tageshöchstpreis|tagesmaximum|höchstsatz pro tag"
    rf"|daily maximum|max(?:imum)?\.? per day|max\.? 24 std\.?)[^€\d]*?{_PRICE}$")
_FREE_FIRST = re.compile(rf"^(?:die\s+)?(?:erste|ersten|first)\s+{_NUMBER}\s*{_UNIT}\s*"
                         r"(?:frei|kostenlos|kostenfrei|gebührenfrei|free)!?$")


class TariffTextError(ValueError):
    """A price text or list that cannot be turned into a tariff without guessing."""


@dataclass
class _Section:
    days: list[int]
    start: str
    end: str
    rates: list[dict[str, Any]]
    reached: int = 0  # minutes of the stretch covered by the rates so far
    total: int = 0  # cumulative price of those minutes (for "bis N Minuten" totals)
    closed: bool = False  # an open-ended per-period rate ends the list
    cap: int | None = None
    unit: int | None = None  # the period of a numbered step ("1. Std."), for "jede weitere"

    def step(self, until: int, price: int, *, cumulative: bool, line: str) -> None:
        self._open(line)
        amount = price - self.total if cumulative else price
        if until <= self.reached or amount < 0:
            raise TariffTextError(f"the steps do not add up at {line!r}")
        self.rates.append({"until": until, "price": amount})
        self.reached, self.total = until, self.total + amount

    def periods(self, period: int, price: int, *, until: int | None, line: str) -> None:
        self._open(line)
        if until is not None:
            if until <= self.reached or (until - self.reached) % period:
                raise TariffTextError(f"the periods do not fit at {line!r}")
            self.rates.append({"until": until, "period_minutes": period, "price": price})
            self.total += (until - self.reached) // period * price
            self.reached = until
        else:
            self.rates.append({"period_minutes": period, "price": price})
            self.closed = True

    def _open(self, line: str) -> None:
        if self.closed:
            raise TariffTextError(f"a price follows the open-ended rate: {line!r}")

    def band(self) -> dict[str, Any]:
        band: dict[str, Any] = {"days": self.days, "start": self.start, "end": self.end,
                                "rates": self.rates}
        if self.cap is not None:
            band["max"] = self.cap
        return band


def parse_tariff_text(text: str, *, currency: str = "EUR", timezone: str = "Europe/Berlin"
                      ) -> dict[str, Any]:
    """The tariff document a price text states; ``TariffTextError`` says which line is unclear."""
    # One price per line; some publishers list them in one line: "1. Std. 1,50 €, jede weitere
    # 1,00 €" (a comma followed by a space, never the decimal comma of a price).
    lines = [_normalise(part) for line in str(text).splitlines()
             for part in re.split(r";\s*|,\s+(?=\D)", line)]
    lines = [line for line in lines if line]
    if not lines:
        raise TariffTextError("the text is empty")
    document: dict[str, Any] = {"currency": currency, "timezone": timezone, "bands": []}
    if len(lines) == 1 and lines[0].rstrip("!.") in _FREE_TEXTS:
        return document
    sections: list[_Section] = []
    current: _Section | None = None
    for line in lines:
        if any(word in line for word in _IGNORED):
            continue
        if match := _HEADER.match(line):
            days = _days(match.group(1), match.group(2))
            start, end = _hhmm(match.group(3), match.group(4)), _hhmm(match.group(5),
                                                                       match.group(6))
            current = _Section(days, start, end, [])
            sections.append(current)
            continue
        if match := _FREE_FIRST.match(line):
            if sections or document.get("free_minutes"):
                raise TariffTextError(f"free minutes inside a time band: {line!r}")
            document["free_minutes"] = _duration(match.group(1), match.group(2))
            continue
        if match := _DAILY_MAX.match(line):
            if "daily_max" in document:
                raise TariffTextError(f"two daily maxima: {line!r}")
            document["daily_max"] = _cents(match.group(1))
            continue
        if current is None:
            current = _Section(list(range(7)), "00:00", "24:00", [])
            sections.append(current)
        _price_line(current, line)
    for section in sections:
        if not section.rates:
            raise TariffTextError(f"no price for the band {section.start}-{section.end}")
    if not sections and "free_minutes" in document:
        raise TariffTextError("the text names free minutes but no price after them")
    _check_no_overlap(sections)
    document["bands"] = [section.band() for section in sections]
    try:
        Tariff.from_dict(document)
    except TariffError as exc:
        raise TariffTextError(str(exc)) from None
    return document


def _price_line(section: _Section, line: str) -> None:
    if match := _STEP_UP_TO.match(line):
        section.step(_duration(match.group(1), match.group(2)), _cents(match.group(3)),
                     cumulative=True, line=line)
    elif match := _STEP_ORDINAL.match(line):
        length = _duration(match.group(2), match.group(3))
        section.step(section.reached + length, _cents(match.group(4)), cumulative=False,
                     line=line)
    elif match := _STEP_NUMBERED.match(line):
        length = _duration("1", match.group(2))
        if int(match.group(1)) * length != section.reached + length:
            raise TariffTextError(f"the numbered steps are out of order: {line!r}")
        section.step(section.reached + length, _cents(match.group(3)), cumulative=False,
                     line=line)
        section.unit = length
    elif match := _FURTHER.match(line):
        if section.unit is None:
            raise TariffTextError(f"'jede weitere' without a unit before it: {line!r}")
        section.periods(section.unit, _cents(match.group(1)), until=None, line=line)
    elif match := _FIRST_HOUR_TAKT.match(line):
        section.periods(_duration(match.group(1), match.group(2)), _cents(match.group(3)),
                        until=section.reached + 60, line=line)
    elif match := _PERIODS_UP_TO.match(line):
        until = _duration(match.group(1), match.group(2))
        period = _duration(match.group(3) or "1", match.group(4))
        section.periods(period, _cents(match.group(5)), until=until, line=line)
    elif match := _PER_PERIOD.match(line):
        if match.group(1) is not None and _duration(match.group(1), match.group(2)) != \
                section.reached:
            raise TariffTextError(f"the rate starts where no step ends: {line!r}")
        section.periods(_duration(match.group(3) or "1", match.group(4)),
                        _cents(match.group(5)), until=None, line=line)
        if match.group(6) is not None:
            section.cap = _cents(match.group(6))
    else:
        raise TariffTextError(f"not understood: {line!r}")


def parse_price_list(entries: Iterable[Mapping[str, Any]] | None, *, day_start: str | None,
                     day_end: str | None, max_per_24h: Any, currency: str = "EUR",
                     timezone: str = "Europe/Berlin") -> dict[str, Any] | None:
    """A tariff from cumulative ``{"minutes", "price", "tarif": Day|Night}`` entries (euros).

    Heidelberg publishes such lists with the day tariff's hours (``dayStart``/``dayEnd``;
    ``00:00``-``00:00`` is all day) and ``priceModelValidFor24h`` (the highest price is the
    maximum per 24 hours, so the list starts again each day). None when the list is empty.
    """
    lists: dict[str, list[tuple[int, int]]] = {}
    for entry in entries or []:
        tarif = str(entry.get("tarif") or "Day")
        if tarif not in ("Day", "Night"):
            raise TariffTextError(f"unknown price list {tarif!r}")
        try:
            minutes, price = int(entry["minutes"]), round(float(entry["price"]) * 100)
        except (KeyError, TypeError, ValueError):
            raise TariffTextError(f"unreadable price entry {dict(entry)!r}") from None
        lists.setdefault(tarif, []).append((minutes, price))
    if not lists:
        return None
    if "Day" not in lists:
        raise TariffTextError("night prices without day prices")
    start, end = _clock(day_start), _clock(day_end)
    all_day = start == end
    if all_day and "Night" in lists:
        raise TariffTextError("night prices but the day tariff covers the whole day")
    if not all_day and "Night" not in lists:
        raise TariffTextError(f"no prices outside the day hours {start}-{end}")
    per_day = _truthy(max_per_24h)
    bands = []
    for tarif, (band_start, band_end) in (("Day", (start, end)), ("Night", (end, start))):
        if tarif not in lists:
            continue
        section = _Section(list(range(7)), "00:00" if all_day else band_start,
                           "24:00" if all_day else band_end, [])
        points = sorted(lists[tarif])
        if len({m for m, _ in points}) != len(points):
            raise TariffTextError(f"{tarif} list names one duration twice")
        for minutes, price in points:
            section.step(minutes, price, cumulative=True, line=f"{tarif} {minutes} min")
        band = section.band()
        if per_day:
            if section.reached < 1440:
                band["rates"].append({"until": 1440, "price": 0})
            band["repeat_minutes"] = 1440
        bands.append(band)
    document: dict[str, Any] = {"currency": currency, "timezone": timezone, "bands": bands}
    if per_day:
        document["daily_max"] = max(price for _, price in lists["Day"])
    try:
        Tariff.from_dict(document)
    except TariffError as exc:
        raise TariffTextError(str(exc)) from None
    return document


def _normalise(line: str) -> str:
    line = line.strip().lower().replace("\u00a0", " ")
    line = re.sub(r"\s+", " ", line)
    return line.rstrip(" ;,")


def _cents(amount: str) -> int:
    return round(float(amount.replace(",", ".")) * 100)


def _duration(amount: str, unit: str) -> int:
    minutes = float(amount.replace(",", ".")) * (1 if unit.startswith("min") else 60)
    if minutes <= 0 or minutes != int(minutes):
        raise TariffTextError(f"a duration of {amount} {unit} is not whole minutes")
    return int(minutes)


def _hhmm(hours: str, minutes: str) -> str:
    if int(hours) > 24 or int(minutes) > 59:
        raise TariffTextError(f"{hours}:{minutes} is not a time of day")
    return f"{int(hours):02d}:{minutes}"


def _clock(value: Any) -> str:
    match = re.match(r"^\s*(\d{1,2}):(\d{2})", str(value or ""))
    if not match:
        raise TariffTextError(f"unreadable time of day {value!r}")
    return _hhmm(match.group(1), match.group(2))


def _days(first: str | None, last: str | None) -> list[int]:
    if first is None:
        return list(range(7))
    start = _DAYS[first[:2]]
    end = _DAYS[last[:2]] if last else start
    return [d % 7 for d in range(start, end + 1 if end >= start else end + 8)]


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "ja", "yes", "wahr")


def _check_no_overlap(sections: list[_Section]) -> None:
    # Two bands at the same minute (a "Spartarif" beside the "Normaltarif") is a choice the
    # text does not resolve for us.
    taken: set[tuple[int, int]] = set()
    for section in sections:
        band = Tariff.from_dict({"bands": [{**section.band(), "rates": [
            {"period_minutes": 60, "price": 0}]}]}).bands[0]
        slots = {(day, minute) for day in range(7) for minute in range(0, 1440, 5)
                 if band.covers(day, minute)}
        if slots & taken:
            raise TariffTextError("two tariffs apply at the same time")
        taken |= slots
