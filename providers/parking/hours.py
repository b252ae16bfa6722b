"""Opening hours: a small structured form, parsed from OSM-style strings and DATEX II times.

The structured form is a list of ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}`` (0 is
Monday; ``end`` ``24:00`` is midnight; an end before the start runs past midnight). ``None``
means the hours are unknown; an empty list means never open.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

ALWAYS: list[dict[str, Any]] = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}]
DAY_NAMES = {"mo": 0, "tu": 1, "di": 1, "we": 2, "mi": 2, "th": 3, "do": 3, "fr": 4, "sa": 5,
             "su": 6, "so": 6}
_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def parse_opening_hours(text: str | None) -> list[dict[str, Any]] | None:
    """Parse the common subset of OSM ``opening_hours`` (``Mo-Fr 08:00-20:00; Sa 09:00-14:00``).

    Public-holiday rules (``PH``) are ignored; anything not understood gives ``None`` (unknown)
    rather than a guess. https://wiki.openstreetmap.org/wiki/Key:opening_hours
    """
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if text.lower() in {"24/7", "24 / 7", "durchgehend geöffnet", "durchgehend geoffnet",
                        "rund um die uhr", "always"}:
        return [dict(ALWAYS[0])]
    spans: list[dict[str, Any]] = []
    for rule in re.split(r"[;\n]", text):
        rule = rule.strip()
        if not rule or rule.upper().startswith(("PH", "SH")):
            continue
        match = re.match(r"^((?:[A-Za-z]{2}\s*(?:-\s*[A-Za-z]{2})?\s*,?\s*)+)?(.*)$", rule)
        if match is None:
            return None
        day_part, time_part = (match.group(1) or "").strip(), match.group(2).strip()
        days = _parse_days(day_part) if day_part else list(range(7))
        if days is None:
            return None
        if time_part.lower() == "off":
            continue
        ranges = _RANGE.findall(time_part)
        if not ranges:
            return None
        for h1, m1, h2, m2 in ranges:
            start, end = f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"
            if start == end:
                end, start = "24:00", "00:00"
            spans.append({"days": days, "start": start, "end": end})
    return spans or None


def _parse_days(text: str) -> list[int] | None:
    days: list[int] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        if "-" in part:
            first, _, last = (p.strip() for p in part.partition("-"))
            if first not in DAY_NAMES or last not in DAY_NAMES:
                return None
            a, b = DAY_NAMES[first], DAY_NAMES[last]
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif part in DAY_NAMES:
            days.append(DAY_NAMES[part])
        else:
            return None
    return sorted(set(days))


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def is_open_at(times: list[dict[str, Any]] | None, moment: datetime,
               timezone: str = "Europe/Berlin") -> bool | None:
    """Whether the hours include ``moment`` (local to ``timezone``); None when unknown."""
    if times is None:
        return None
    local = moment.astimezone(ZoneInfo(timezone))
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    previous_day = (weekday - 1) % 7
    for span in times:
        start, end = _minutes(span["start"]), _minutes(span["end"])
        days = span.get("days", range(7))
        if start < end:
            if weekday in days and start <= minute < end:
                return True
        else:  # runs past midnight
            if weekday in days and minute >= start:
                return True
            if previous_day in days and minute < end:
                return True
    return False


def format_time(value: time) -> str:
    """``HH:MM`` of a time of day."""
    return f"{value.hour:02d}:{value.minute:02d}"
