"""An injectable clock (the ``CLOCK`` setting) that tests move by hand instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Returns a fixed aware time until ``advance`` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        self.current += timedelta(seconds=seconds)
        return self.current
