"""Service days: which services run on a date and when a GTFS time happens on it.

GTFS times count from "noon minus 12h" of the service day in the agency's time zone (GTFS
reference, stop_times.txt ``arrival_time``), so they stay right across DST changes and may pass
24:00:00 for trips that run after midnight. A service runs on a date when calendar.txt's weekday
pattern and date range include it, unless calendar_dates.txt removes it (exception_type 2), or
when calendar_dates.txt adds it (exception_type 1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from providers.transit.models import TransitCalendar, TransitCalendarDate

_WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                    "sunday")


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    return ZoneInfo(name)


def service_day_origin(day: date, tz: ZoneInfo) -> datetime:
    """The instant GTFS time 0 refers to on ``day``: noon minus 12 hours, as an aware UTC time.

    Twelve real hours: Python subtracts a timedelta from an aware datetime on the wall clock,
    which would give local midnight, an hour off on the days the clocks change (noon minus 12h
    is 01:00 when they go back and 23:00 the evening before when they go forward). The result
    is in UTC so that callers' arithmetic on it is real time too.
    """
    return datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC) - timedelta(hours=12)


def at_service_time(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """The aware local datetime of GTFS time ``seconds`` on service day ``day``."""
    return (service_day_origin(day, tz) + timedelta(seconds=seconds)).astimezone(tz)


def active_services(session: Session, feed_version_id: int, day: date) -> set[str]:
    """The service ids running on ``day`` in one feed version (calendar + exceptions)."""
    weekday = getattr(TransitCalendar, _WEEKDAY_COLUMNS[day.weekday()])
    running = set(session.scalars(
        sa.select(TransitCalendar.service_id).where(
            TransitCalendar.feed_version_id == feed_version_id,
            TransitCalendar.start_date <= day, TransitCalendar.end_date >= day,
            weekday.is_(True))
    ))
    for service_id, exception in session.execute(
        sa.select(TransitCalendarDate.service_id, TransitCalendarDate.exception_type).where(
            TransitCalendarDate.feed_version_id == feed_version_id,
            TransitCalendarDate.date == day)
    ):
        if exception == 1:
            running.add(service_id)
        elif exception == 2:
            running.discard(service_id)
    return running


def services_by_day(session: Session, feed_version_id: int, days: list[date]
                    ) -> dict[date, frozenset[str]]:
    """The service ids running on each of ``days`` (same rules as ``active_services``).

    One query per table for all the days: the calendars overlapping them, the exceptions between
    the first and the last.
    """
    if not days:
        return {}
    first, last = min(days), max(days)
    calendars = session.execute(
        sa.select(TransitCalendar.service_id, TransitCalendar.start_date,
                  TransitCalendar.end_date,
                  *(getattr(TransitCalendar, c) for c in _WEEKDAY_COLUMNS))
        .where(TransitCalendar.feed_version_id == feed_version_id,
               TransitCalendar.start_date <= last, TransitCalendar.end_date >= first)).all()
    exceptions = session.execute(
        sa.select(TransitCalendarDate.date, TransitCalendarDate.service_id,
                  TransitCalendarDate.exception_type)
        .where(TransitCalendarDate.feed_version_id == feed_version_id,
               TransitCalendarDate.date.between(first, last))).all()
    result = {}
    for day in days:
        weekday = day.weekday()
        running = {row[0] for row in calendars
                   if row[1] <= day <= row[2] and row[3 + weekday]}
        for on, service_id, exception in exceptions:
            if on != day:
                continue
            if exception == 1:
                running.add(service_id)
            elif exception == 2:
                running.discard(service_id)
        result[day] = frozenset(running)
    return result
