"""The developer-access demo step: a demo user, app, subscriptions and one working API key.

Idempotent by design: the key is printed only when it is created. On a re-run the step says a
demo key exists and how to issue another, rather than minting a new secret each time (keys
would pile up) or pretending to show a secret that is only stored hashed.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts import services
from app.accounts.models import ApiKey, App, Membership, Organisation
from app.accounts.services import OPERATOR

DEMO_EMAIL = "demo@mobihub.example"
DEMO_PASSWORD = "mobihub-demo-password"  # noqa: S105 (a documented local demo account)
DEMO_APP = "Demo app"
DEMO_KEY_LABEL = "demo"


def demo_developer_access(session: Session) -> Iterator[str]:
    """Create the demo developer, app and key; print the key once with a curl command."""
    from app.demo import DEMO_ORGANISATION

    services.ensure_catalog(session)
    organisation, _ = services.get_or_create_organisation(session, DEMO_ORGANISATION)
    user = services.find_user(session, DEMO_EMAIL)
    if user is None:
        user = services.create_user(session, DEMO_EMAIL, DEMO_PASSWORD, email_verified=True)
        yield f"created user {DEMO_EMAIL} (password {DEMO_PASSWORD!r}; sign in at /oauth/login)"
    if session.scalar(sa.select(Membership.id).where(
            Membership.organisation_id == organisation.id,
            Membership.user_id == user.id)) is None:
        session.add(Membership(organisation_id=organisation.id, user_id=user.id, role="owner"))
        session.flush()
    app = _demo_app(session, organisation)
    services.subscribe_to_all(session, OPERATOR, app.id, None)
    existing = session.scalar(sa.select(ApiKey).where(
        ApiKey.app_id == app.id, ApiKey.label == DEMO_KEY_LABEL, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id.desc()))
    if existing is not None and services.key_status(existing) == "active":
        yield (f"demo app {app.name!r} (id {app.id}) has API key {existing.key_id}; its secret "
               "was shown when it was created. Another: "
               f"mobihub keys create --app {app.id}")
        return
    issued = services.issue_api_key(session, OPERATOR, app.id, label=DEMO_KEY_LABEL)
    session.commit()
    yield f"demo app {app.name!r} (id {app.id}) subscribed to every product (free plan)"
    yield f"API key (shown once, store it now): {issued.raw}"
    yield f"try: curl -H 'X-API-Key: {issued.raw}' http://127.0.0.1:8000/account/v1/apps"


def _demo_app(session: Session, organisation: Organisation) -> App:
    app = session.scalar(sa.select(App).where(App.organisation_id == organisation.id,
                                              App.name == DEMO_APP))
    return app or services.create_app(session, OPERATOR, organisation.id, DEMO_APP,
                                      redirect_uris=["http://127.0.0.1:8000/callback"])
