"""Organisation services used by the CLI, the portal and the demo."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Organisation


def slugify(name: str) -> str:
    """A URL-safe lower-case slug of a display name."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:64] or "org"


def get_or_create_organisation(session: Session, name: str) -> tuple[Organisation, bool]:
    """The organisation with this name's slug, created if missing; ``(org, created)``."""
    slug = slugify(name)
    organisation = session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
    if organisation is not None:
        return organisation, False
    organisation = Organisation(slug=slug, name=name)
    session.add(organisation)
    session.flush()
    return organisation, True
