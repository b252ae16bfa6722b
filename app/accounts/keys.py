"""The API key format: ``mob_<env>_<id>_<secret><checksum>``.

* ``mob_<env>_<id>`` is the key id: public, readable, shown in listings and logs-free UIs.
* ``<secret>`` is 24 base62 characters from ``secrets`` (about 143 bits).
* ``<checksum>`` is the CRC32 of everything before it, in 6 base62 characters, so a mistyped
  or truncated key is rejected without touching the database (the idea GitHub's token format
  uses). The checksum is no secret: it only catches typos.

Only the SHA-256 of the secret is stored. The secret has far more entropy than a password, so
a plain (unsalted, fast) digest is safe and lets the hot path verify it in microseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 8
SECRET_LENGTH = 24
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(
    rf"^(mob_(live|test)_[0-9A-Za-z]{{{ID_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})"
    rf"([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
KEY_ID_PATTERN = re.compile(rf"^mob_(live|test)_[0-9A-Za-z]{{{ID_LENGTH}}}$")


@dataclass(frozen=True)
class ParsedKey:
    """A syntactically valid key with a correct checksum (not yet known to be issued)."""

    key_id: str
    environment: str
    secret: str

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"ParsedKey(key_id={self.key_id!r}, secret='…')"


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    """CRC32 of the key body in fixed-width base62."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_key(environment: str) -> tuple[str, ParsedKey]:
    """A new random key for ``live`` or ``test``: ``(raw key, its parts)``."""
    if environment not in ("live", "test"):
        raise ValueError(f"unknown key environment {environment!r}")
    key_id = f"mob_{environment}_{_random_base62(ID_LENGTH)}"
    secret = _random_base62(SECRET_LENGTH)
    body = f"{key_id}_{secret}"
    return body + checksum(body), ParsedKey(key_id, environment, secret)


def parse_key(raw: str | None) -> ParsedKey | None:
    """The key's parts, or None when it is malformed or its checksum is wrong."""
    if not raw or len(raw) > 64:
        return None
    match = KEY_PATTERN.match(raw)
    if match is None:
        return None
    key_id, environment, secret, check = match.groups()
    if not hmac.compare_digest(checksum(f"{key_id}_{secret}"), check):
        return None
    return ParsedKey(key_id, environment, secret)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: its SHA-256 in hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Constant-time comparison of a presented secret with the stored digest."""
    return hmac.compare_digest(hash_secret(secret), stored_sha256)
