"""App edits the accounts services do not offer: rename, redirect URIs, delete."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import App
from app.accounts.services import MANAGE_APPS, Actor, authorise, get_app
from app.errors import Problem


def update_app(session: Session, actor: Actor, app_id: int, *, name: str,
               redirect_uris: Iterable[str] = ()) -> App:
    """Rename an app and replace its OAuth redirect URIs."""
    from app.accounts.services import _check_redirect_uri

    app = get_app(session, actor, app_id)
    authorise(session, actor, app.organisation_id, MANAGE_APPS, what="app")
    name = (name or "").strip()
    if not name or len(name) > 200 or name.isdigit():
        raise Problem(422, "validation-error", "Unprocessable Entity",
                      "An app needs a name of 1 to 200 characters that is not a number.")
    uris = [_check_redirect_uri(uri) for uri in redirect_uris if uri.strip()]
    clash = session.scalar(sa.select(App.id).where(
        App.organisation_id == app.organisation_id, App.name == name, App.id != app.id))
    if clash is not None:
        raise Problem(409, "conflict", "Conflict", f"The organisation has an app called {name!r}.")
    app.name = name
    app.redirect_uris = uris
    session.flush()
    return app


def delete_app(session: Session, actor: Actor, app_id: int) -> None:
    """Delete an app with its keys and subscriptions (its keys stop working)."""
    from app.accounts.services import _after_commit_bump_epoch

    app = get_app(session, actor, app_id)
    authorise(session, actor, app.organisation_id, MANAGE_APPS, what="app")
    session.delete(app)
    session.flush()
    _after_commit_bump_epoch(session)
