"""Opaque pagination cursors shared by the data APIs' lists.

A cursor is the position after a page (a small JSON object, base64url-encoded). The client
sends it back unchanged; one it edited, or one from another list, is refused with a 400
``invalid-cursor`` problem rather than read (a forged position must never reach a query as a
string, a negative offset or an integer past 64 bits). A list that takes filters ties its
cursors to them (``query``): a position means nothing under other filters (the third stop
within 500 m is not the third within 5 km), so a cursor sent back with other filters is
refused too, instead of skipping or repeating items without a word.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from app.errors import Problem


def encode_cursor(data: dict[str, Any], query: Mapping[str, Any] | None = None) -> str:
    """An opaque cursor for a position, tied to the filters of its ``query`` when given."""
    if query is not None:
        data = {**data, QUERY_KEY: _query_digest(query)}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, shape: Mapping[str, type],
                  optional: Mapping[str, type] | None = None,
                  query: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The position a cursor holds ({} without one), or a 400 problem.

    ``shape`` names the keys every cursor of the list holds and their types, ``optional``
    those it may hold. ``int`` values are never negative and fit a BIGINT; ``float`` ones are
    finite, never negative, and may be written as integers; ``str`` ones are strings.
    ``query``: the filters of this request; a cursor made under others is refused.
    """
    if not cursor:
        return {}
    optional = {**(optional or {}), **({QUERY_KEY: str} if query is not None else {})}
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not (isinstance(data, dict) and set(shape) <= set(data) <= set(shape) | set(optional)
            and all(_fits(data[name], {**optional, **shape}[name]) for name in data)):
        raise Problem(400, "invalid-cursor", "Invalid cursor",
                      "The cursor is not one this API returned; start again without it.")
    if query is not None and data.pop(QUERY_KEY, None) not in (None, _query_digest(query)):
        raise Problem(400, "invalid-cursor", "Invalid cursor",
                      "The cursor belongs to a query with other filters: send it with the "
                      "filters of the page it came from, or start again without it.")
    return data


# The key of the filters' digest in a cursor.
QUERY_KEY = "q"


def _query_digest(query: Mapping[str, Any]) -> str:
    """A short digest of a request's filters (their canonical JSON)."""
    text = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and 0 <= value < 2**63
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value) and value >= 0
    return isinstance(value, kind)
