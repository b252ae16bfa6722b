"""Structured tariffs and the price of a stay.

A tariff (stored as a JSON document on a facility or zone) is::

    {"currency": "EUR", "timezone": "Europe/Berlin", "free_minutes": 15, "daily_max": 1500,
     "bands": [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00",
                "period_minutes": 60, "price": 200}]}

Prices are integer minor units of ``currency`` (ISO 4217). Within a band every *started*
period is charged in full (APDS v4 ``RateLine.incrementPeriod``); outside every band parking
is free; the first ``free_minutes`` of a stay are free (APDS "grace period"); ``daily_max``
caps each 24 hours counted from the start of the stay.
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
class Band:
    """One time band: a price per period on some days between two times of day."""

    days: tuple[int, ...]
    start: int  # minutes after midnight
    end: int  # minutes after midnight; <= start means the band runs past midnight
    period_minutes: int
    price: int

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
                period, price = int(band["period_minutes"]), int(band["price"])
                days = tuple(int(d) for d in band.get("days", range(7)))
            except (KeyError, TypeError, ValueError) as exc:
                raise TariffError(f"band {index}: {exc}") from None
            if period <= 0 or price < 0 or any(not 0 <= d <= 6 for d in days):
                raise TariffError(f"band {index}: period must be > 0, price >= 0, days 0-6")
            bands.append(Band(days, _minutes(start), _minutes(end) % 1440 if end != "24:00"
                              else 1440, period, price))
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
    while moment < end:
        band = rules.band_at(moment)
        if band is None:
            moment = _next_minute_with_band(rules, moment, end)
            continue
        window = int((moment - start) / timedelta(days=1))
        windows[window] = windows.get(window, 0) + band.price
        if lines and lines[-1]["band"] == rules.bands.index(band) and lines[-1]["window"] == window:
            lines[-1]["periods"] += 1
            lines[-1]["amount"] += band.price
        else:
            lines.append({"band": rules.bands.index(band), "window": window, "from":
                          moment.isoformat(), "periods": 1, "period_minutes":
                          band.period_minutes, "amount": band.price})
        moment += timedelta(minutes=band.period_minutes)
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


def _next_minute_with_band(rules: Tariff, moment: datetime, end: datetime) -> datetime:
    # Bands change on whole minutes: step to the next minute boundary, at most until ``end``.
    if not rules.bands:
        return end
    step = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while step < end and rules.band_at(step) is None:
        step += timedelta(minutes=1)
    return min(step, end)
