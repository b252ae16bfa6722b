"""Signing keys' private halves encrypted at rest (AES-256-GCM).

The ``oauth_signing_key.private_jwk`` column holds a sealed envelope, never the JWK itself::

    {"sealed": "A256GCM", "kdf": "HKDF-SHA256", "nonce": "<b64url>", "ciphertext": "<b64url>"}

The AES key is derived with HKDF-SHA256 (RFC 5869) from ``MOBIHUB_OAUTH_KEY_ENCRYPTION_SECRET``,
which defaults to the app's ``SECRET_KEY``; the key id is the associated data, so a ciphertext
copied onto another row does not decrypt. Rows written before sealing existed (a plain JWK with
``kty``) are still read, and ``seal_plaintext_keys`` rewrites them sealed (called on first use
by every process and by ``mobihub oauth keys seal``).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.orm import Session

from app.oauth.models import SigningKey

SEALED = "A256GCM"
_INFO = b"mobihub oauth signing key at rest v1"


class KeyStoreError(RuntimeError):
    """A sealed key that does not open: the encryption secret changed or the row was altered."""


def _secret() -> bytes:
    config = current_app.config
    secret = config.get("OAUTH_KEY_ENCRYPTION_SECRET") or config.get("SECRET_KEY")
    if not secret:
        raise KeyStoreError("no SECRET_KEY or OAUTH_KEY_ENCRYPTION_SECRET to seal keys with")
    return str(secret).encode()


def _aead() -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(_secret())
    return AESGCM(key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(stored: Any) -> bool:
    """Whether a stored ``private_jwk`` value is a sealed envelope (not a plain JWK)."""
    return isinstance(stored, dict) and stored.get("sealed") == SEALED


def seal(private_jwk: dict[str, Any], kid: str) -> dict[str, str]:
    """The envelope to store for a private JWK."""
    nonce = os.urandom(12)  # 96-bit random nonce, NIST SP 800-38D section 8.2.2
    ciphertext = _aead().encrypt(nonce, json.dumps(private_jwk).encode(), kid.encode())
    return {"sealed": SEALED, "kdf": "HKDF-SHA256", "nonce": _b64(nonce),
            "ciphertext": _b64(ciphertext)}


def unseal(stored: dict[str, Any], kid: str) -> dict[str, Any]:
    """The private JWK of a stored row (a legacy plain JWK is returned as it is)."""
    if not is_sealed(stored):
        return dict(stored)
    try:
        plain = _aead().decrypt(_unb64(stored["nonce"]), _unb64(stored["ciphertext"]),
                                kid.encode())
    except (InvalidTag, KeyError, ValueError):
        raise KeyStoreError(f"signing key {kid!r} does not decrypt: was MOBIHUB_OAUTH_KEY_"
                            "ENCRYPTION_SECRET (or SECRET_KEY) changed?") from None
    return json.loads(plain)


def seal_plaintext_keys(session: Session) -> int:
    """Encrypt every signing key still stored in the clear; the number sealed."""
    sealed = 0
    for key in session.scalars(sa.select(SigningKey)):
        if not is_sealed(key.private_jwk):
            key.private_jwk = seal(dict(key.private_jwk), key.kid)
            sealed += 1
    if sealed:
        session.flush()
    return sealed
