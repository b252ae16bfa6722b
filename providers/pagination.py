"""Opaque pagination cursors shared by the data APIs' lists.

A cursor is the position after a page (a small JSON object, base64url-encoded). The client
sends it back unchanged; one it edited, or one from another list, is refused with a 400
``invalid-cursor`` problem rather than read (a forged position must never reach a query as a
string, a negative offset or an integer past 64 bits).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from app.errors import Problem


def encode_cursor(data: dict[str, Any]) -> str:
    """An opaque cursor for a position."""
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, shape: Mapping[str, type],
                  optional: Mapping[str, type] | None = None) -> dict[str, Any]:
    """The position a cursor holds ({} without one), or a 400 problem.

    ``shape`` names the keys every cursor of the list holds and their types, ``optional``
    those it may hold. ``int`` values are never negative and fit a BIGINT; ``float`` ones are
    finite, never negative, and may be written as integers; ``str`` ones are strings.
    """
    if not cursor:
        return {}
    optional = optional or {}
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not (isinstance(data, dict) and set(shape) <= set(data) <= set(shape) | set(optional)
            and all(_fits(data[name], {**optional, **shape}[name]) for name in data)):
        raise Problem(400, "invalid-cursor", "Invalid cursor",
                      "The cursor is not one this API returned; start again without it.")
    return data


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and 0 <= value < 2**63
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value) and value >= 0
    return isinstance(value, kind)
