"""Accounts test data, built through the real services on the test's session."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask

from app.accounts import services
from app.accounts.models import App, Organisation, User
from app.accounts.services import OPERATOR, Actor
from app.db import db

_sequence = itertools.count(1)
PASSWORD = "correct horse battery staple"


def make_user(session: Any, email: str | None = None, password: str | None = PASSWORD) -> User:
    """A user with a password."""
    return services.create_user(session, email or f"user{next(_sequence)}@example.org", password)


def make_organisation(session: Any, name: str | None = None,
                      owner: User | None = None) -> tuple[Organisation, User]:
    """An organisation and its owner (a new user unless given)."""
    owner = owner or make_user(session)
    organisation = services.create_organisation(
        session, name or f"Org {next(_sequence)}", owner.email)
    return organisation, owner


def make_developer_app(session: Any, organisation: Organisation | None = None,
                       name: str | None = None, *, plan: str | None = None,
                       subscribe: bool = True, **options: Any) -> App:
    """An app (in a new organisation unless given), subscribed to every product by default."""
    if organisation is None:
        organisation, _ = make_organisation(session)
    app = services.create_app(session, OPERATOR, organisation.id,
                              name or f"App {next(_sequence)}", **options)
    if subscribe:
        services.subscribe_to_all(session, OPERATOR, app.id, plan)
    return app


def make_api_key(session: Any, app: App | None = None, **options: Any) -> str:
    """A raw API key of an app (a new subscribed app unless given)."""
    app = app or make_developer_app(session)
    return services.issue_api_key(session, OPERATOR, app.id, **options).raw


def actor_for(user: User) -> Actor:
    """The actor of a signed-in user."""
    return Actor.user(user)


def sibling_app(make_app_fixture: Any, session: Any, **settings: Any) -> Flask:
    """A second hub instance (another worker) on the same test transaction and Redis."""
    sibling = make_app_fixture(**settings)
    db.bind_to(sibling, session.connection(), join_transaction_mode="create_savepoint")
    return sibling
