"""Reading the caller's credential from a request: ``X-API-Key`` or ``Authorization: Bearer``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

API_KEY = "api_key"
BEARER = "bearer"
MAX_CREDENTIAL_LENGTH = 4096  # a JWT with many scopes stays far below; bigger is an attack


@dataclass(frozen=True, slots=True)
class Credential:
    """A raw credential and its kind; ``repr`` never shows the secret."""

    kind: str
    raw: str

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r}, raw='…')"


def parse_credential(environ: Mapping[str, Any]) -> Credential | None:
    """The request's credential from its WSGI environ (``HTTP_*`` entries: read directly, not
    through a headers view, as this runs on every call), or None when it carries none (or a
    malformed one)."""
    raw = environ.get("HTTP_X_API_KEY")
    if raw:
        raw = raw.strip()
        return Credential(API_KEY, raw) if 0 < len(raw) <= MAX_CREDENTIAL_LENGTH else None
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not authorization:
        return None
    # RFC 6750 §2.1: the scheme is case-insensitive; b64token follows one space.
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_CREDENTIAL_LENGTH:
        return None
    return Credential(BEARER, token)
