"""Outgoing mail: SMTP when ``SMTP_URL`` is set, else ``.eml`` files in the instance folder.

The embedded default needs no mail server: every message lands in ``<instance>/mail/`` and a
log line says where, so sign-up, verification, reset and invitation flows work out of the box.
``SMTP_URL`` looks like ``smtp://user:password@host:587`` (STARTTLS) or ``smtps://…:465``.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app

from app.db import utcnow

log = logging.getLogger("mobihub.mail")


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from the configured sender."""
    message = EmailMessage()
    message["From"] = current_app.config.get("MAIL_FROM") or "MobiHub <no-reply@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = utcnow().strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(body)
    return message


def send_mail(to: str, subject: str, body: str) -> Path | None:
    """Send one message; returns the ``.eml`` path when written to the instance folder."""
    message = build_message(to, subject, body)
    url = current_app.config.get("SMTP_URL") or ""
    if url:
        _send_smtp(url, message)
        log.info("mail sent", extra={"to": to, "subject": subject})
        return None
    return _write_eml(message)


def mail_folder() -> Path:
    """Where messages go when no SMTP server is configured."""
    return Path(current_app.config["INSTANCE_PATH"]) / "mail"


def _write_eml(message: EmailMessage) -> Path:
    folder = mail_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(4)}.eml"
    path = folder / name
    path.write_bytes(bytes(message))
    log.info("mail written to %s (no SMTP_URL set)", path,
             extra={"to": message["To"], "subject": message["Subject"]})
    return path


def _send_smtp(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme!r}")
    host = parts.hostname or "localhost"
    timeout = float(current_app.config.get("SMTP_TIMEOUT_SECONDS", 10.0))
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout)
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=timeout)
    with client:
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
