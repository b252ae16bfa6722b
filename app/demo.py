"""``mobihub demo``: idempotent demo data, one step per domain, each saying what it made."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

from app.accounts.services import get_or_create_organisation

DEMO_ORGANISATION = "MobiHub Demo"

# Each step is ``module:function(session) -> Iterator[str]``; later domains add theirs here.
DEMO_STEPS: list[str] = [
    "app.accounts.demo:demo_developer_access",
    "providers.transit.demo:demo_transit",
    "providers.parking.demo:seed_demo_city",
]


def run_demo(session: Session) -> Iterator[str]:
    """Create (or find) the demo data and yield lines telling the operator how to use it."""
    organisation, created = get_or_create_organisation(session, DEMO_ORGANISATION)
    session.commit()
    yield f"{'created' if created else 'found'} organisation {organisation.name!r}"
    for step in DEMO_STEPS:
        module_name, _, function = step.partition(":")
        yield from getattr(importlib.import_module(module_name), function)(session)
        session.commit()
    yield "open http://127.0.0.1:8000/ (portal) and http://127.0.0.1:8000/docs (API reference)"
