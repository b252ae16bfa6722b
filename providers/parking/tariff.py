"""Structured tariffs and the price of a stay.

A tariff (stored as a JSON document on a facility or zone) is::

    {"currency": "EUR", "timezone": "Europe/Berlin", "free_minutes": 15, "daily_max": 1500,
     "bands": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00",
                "period_minutes": 60, "price": 200}]}

Prices are integer minor units of ``currency`` (ISO 4217). Within a band every *started*
period is charged in full (APDS v4 ``RateLine.incrementPeriod``); outside every band parking
is free; the first ``free_minutes`` of a stay are free (APDS "grace period"); ``daily_max``
caps each 24 hours counted from the start of the stay.

A band may instead carry ``rates``, an ordered price list over the minutes of one *stretch*
(the contiguous part of a stay spent in that band), as garages publish it ("bis 30 Minuten
1,00 €, bis 60 Minuten 2,20 €, jede weitere angefangene Stunde 2,20 €")::

    {"start": "06:00", "end": "19:00", "max": 600, "repeat_minutes": 1440,
     "rates": [{"until": 30, "price": 100}, {"until": 60, "price": 120},
               {"period_minutes": 60, "price": 220}]}

A rate without ``period_minutes`` is one flat charge for its span (up to ``until`` minutes
into the stretch); with it, every started period costs ``price`` (until ``until``, or for
ever when it is the last). When a stretch outlasts the last rate the tariff states no price
and a quote is refused rather than guessed. ``max`` caps the charge of one stretch (APDS
``RateLine.maxValue``: "je angefangene Stunde 1,50 € (max. 6,00 €)"); ``repeat_minutes``
starts the list again (a price list "valid per 24 h").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_STAY = timedelta(days=31)
_HHMM = re.compile(r"^([01]\d|2[0-4]):[0-5]\d$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class TariffError(ValueError):
    """A tariff document or a quote request is not valid."""


@dataclass(frozen=True)
class Rate:
    """One line of a band's price list: a flat step, or a price per started period."""

    price: int
    until: int | None = None  # minutes into the stretch where this line ends; None: for ever
    period_minutes: int | None = None  # None: one flat charge for the span up to ``until``


@dataclass(frozen=True)
class Band:
    """One time band: a price list on some days between two times of day."""

    days: tuple[int, ...]
    start: int  # minutes after midnight
    end: int  # minutes after midnight; <= start means the band runs past midnight
    rates: tuple[Rate, ...]
    max: int | None = None  # cap on the charge of one stretch in this band
    repeat_minutes: int | None = None  # the price list starts again after this many minutes

    def charge_at(self, elapsed: int) -> tuple[int, int, bool]:
        """Price, span (minutes) and flatness of the line ``elapsed`` minutes into a stretch."""
        if self.repeat_minutes:
            elapsed %= self.repeat_minutes
        reached = 0
        for rate in self.rates:
            if rate.until is None or elapsed < rate.until:
                if rate.period_minutes is None:
                    return rate.price, rate.until - elapsed, True  # type: ignore[operator]
                span = rate.period_minutes
                if rate.until is not None:
                    span = min(span, rate.until - elapsed)
                return rate.price, span, False
            reached = rate.until
        raise TariffError(f"the tariff states no price for more than {reached} minutes in a "
                          "row; ask the operator")

    def minutes_to_end(self, minute: int) -> int:
        """Minutes from ``minute`` (of a day inside the band) to the end of this occurrence."""
        if self.start < self.end or minute < self.end:
            return self.end - minute
        return 1440 - minute + self.end

    def covers(self, weekday: int, minute: int) -> bool:
        """Whether the band applies at ``minute`` of a day with ``weekday``."""
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        return ((weekday in self.days and minute >= self.start)
                or ((weekday - 1) % 7 in self.days and minute < self.end))


@dataclass(frozen=True)
class Tariff:
    """A validated tariff."""

    currency: str
    timezone: str
    bands: tuple[Band, ...]
    free_minutes: int = 0
    daily_max: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tariff:
        """Validate a tariff document; raise ``TariffError`` saying what is wrong."""
        if not isinstance(data, dict):
            raise TariffError("a tariff must be an object")
        currency = str(data.get("currency", "EUR"))
        if not _CURRENCY.match(currency):
            raise TariffError(f"currency {currency!r} is not an ISO 4217 code")
        timezone = str(data.get("timezone", "Europe/Berlin"))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise TariffError(f"unknown time zone {timezone!r}") from None
        bands = []
        for index, band in enumerate(data.get("bands") or []):
            try:
                start, end = str(band.get("start", "00:00")), str(band.get("end", "24:00"))
                if not (_HHMM.match(start) and _HHMM.match(end)):
                    raise TariffError(f"band {index}: times must be HH:MM")
                days = tuple(int(d) for d in band.get("days", range(7)))
                rates = _rates(band, index)
                cap = None if band.get("max") is None else int(band["max"])
                repeat = None if band.get("repeat_minutes") is None else int(
                    band["repeat_minutes"])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise TariffError(f"band {index}: {exc}") from None
            if any(not 0 <= d <= 6 for d in days):
                raise TariffError(f"band {index}: days must be 0-6")
            if (cap is not None and cap < 0) or (repeat is not None and repeat <= 0):
                raise TariffError(f"band {index}: max must be >= 0, repeat_minutes > 0")
            bands.append(Band(days, _minutes(start), _minutes(end) % 1440 if end != "24:00"
                              else 1440, rates, cap, repeat))
        daily_max = data.get("daily_max")
        return cls(currency, timezone, tuple(bands), int(data.get("free_minutes") or 0),
                   None if daily_max is None else int(daily_max))

    def band_at(self, moment: datetime) -> Band | None:
        """The band that applies at ``moment``, or None when parking is free then."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        for band in self.bands:
            if band.covers(local.weekday(), minute):
                return band
        return None


def _rates(band: dict[str, Any], index: int) -> tuple[Rate, ...]:
    # The short form {"period_minutes", "price"} is a one-line price list.
    raw = band.get("rates")
    if raw is None:
        raw = [{"period_minutes": band["period_minutes"], "price": band["price"]}]
    if not isinstance(raw, list) or not raw:
        raise TariffError(f"band {index}: rates must be a non-empty list")
    rates: list[Rate] = []
    reached = 0
    for number, line in enumerate(raw):
        price = int(line["price"])
        until = None if line.get("until") is None else int(line["until"])
        period = None if line.get("period_minutes") is None else int(line["period_minutes"])
        if price < 0 or (period is not None and period <= 0):
            raise TariffError(f"band {index} rate {number}: period must be > 0, price >= 0")
        if until is None and (period is None or number != len(raw) - 1):
            raise TariffError(f"band {index} rate {number}: only the last rate may omit "
                              "'until', and it needs period_minutes")
        if until is not None and until <= reached:
            raise TariffError(f"band {index} rate {number}: 'until' must grow")
        reached = until or reached
        rates.append(Rate(price, until, period))
    return tuple(rates)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def quote(tariff: dict[str, Any] | Tariff, start: datetime, end: datetime) -> dict[str, Any]:
    """The price of parking from ``start`` to ``end`` under ``tariff``, with a breakdown."""
    rules = tariff if isinstance(tariff, Tariff) else Tariff.from_dict(tariff)
    if start.tzinfo is None or end.tzinfo is None:
        raise TariffError("start and end need a UTC offset")
    if end <= start:
        raise TariffError("end must be after start")
    if end - start > MAX_STAY:
        raise TariffError(f"a quote covers at most {MAX_STAY.days} days")
    windows: dict[int, int] = {}
    lines: list[dict[str, Any]] = []
    moment = start + timedelta(minutes=rules.free_minutes)
    stretch: list[Any] | None = None  # [band index, stretch start, amount charged in it]
    while moment < end:
        band = rules.band_at(moment)
        if band is None:
            stretch = None
            moment = _next_minute_with_band(rules, moment, end)
            continue
        index = rules.bands.index(band)
        if stretch is None or stretch[0] != index:
            stretch = [index, moment, 0]
        price, span, flat = band.charge_at(int((moment - stretch[1]) / timedelta(minutes=1)))
        if flat:
            span = _clip_to_band(rules, band, moment, span)
        if band.max is not None:
            price = max(0, min(price, band.max - stretch[2]))
        stretch[2] += price
        window = int((moment - start) / timedelta(days=1))
        windows[window] = windows.get(window, 0) + price
        last = lines[-1] if lines else None
        if (last and last["band"] == index and last["window"] == window
                and last["period_minutes"] == span):
            last["periods"] += 1
            last["amount"] += price
        else:
            lines.append({"band": index, "window": window, "from": moment.isoformat(),
                          "periods": 1, "period_minutes": span, "amount": price})
        moment += timedelta(minutes=span)
    capped = {w: min(a, rules.daily_max) if rules.daily_max is not None else a
              for w, a in windows.items()}
    return {
        "amount": sum(capped.values()),
        "currency": rules.currency,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "free_minutes": rules.free_minutes,
        "daily_max": rules.daily_max,
        "capped": capped != windows,
        "lines": lines,
    }


def _clip_to_band(rules: Tariff, band: Band, moment: datetime, span: int) -> int:
    # A flat step ends where its band ends unless the same band goes on (24 h every day), so
    # a long flat step never swallows the time of the band that follows it.
    local = moment.astimezone(ZoneInfo(rules.timezone))
    remaining = band.minutes_to_end(local.hour * 60 + local.minute)
    if 0 < remaining < span and rules.band_at(moment + timedelta(minutes=remaining)) is not band:
        return remaining
    return span


def _next_minute_with_band(rules: Tariff, moment: datetime, end: datetime) -> datetime:
    # Bands change on whole minutes: step to the next minute boundary, at most until ``end``.
    if not rules.bands:
        return end
    step = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while step < end and rules.band_at(step) is None:
        step += timedelta(minutes=1)
    return min(step, end)
