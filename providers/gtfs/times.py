"""GTFS times of day: ``H:MM:SS`` counted from the service day's start, hours past 24 allowed.

A module of its own, without the parser's heavy imports: the real-time matching reads the
``start_time`` of GTFS-Realtime trip descriptors with it too.
"""

from __future__ import annotations

import re

_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


def parse_time(value: str) -> int | None:
    """``H:MM:SS`` (hours may pass 24) as seconds; None when the text is not a GTFS time."""
    parts = value.split(":")
    if len(parts) == 3 and len(parts[1]) == 2 and len(parts[2]) == 2:
        try:
            h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
        except ValueError:
            return None
        if 0 <= h < 1000 and 0 <= m < 60 and 0 <= s < 60 and parts[0].strip() == parts[0]:
            return h * 3600 + m * 60 + s
        return None
    match = _TIME.match(value)
    if match is None:
        return None
    return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])
