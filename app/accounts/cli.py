"""``mobihub orgs …``, ``mobihub apps …`` and ``mobihub keys …``: accounts and API keys.

Without ``--as-user`` a command acts as the operator (the person at the server's console, who
may act on every organisation). With ``--as-user EMAIL`` it acts as that user, and ids of other
organisations' apps and keys are refused exactly as the account API refuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.accounts import services
from app.accounts.models import ApiKey, App
from app.accounts.services import OPERATOR, Actor
from app.db import get_db
from app.errors import Problem


def _fail(message: str) -> None:
    from app.cli import fail

    fail(message)


def _echo_json(data: Any) -> None:
    from app.cli import emit_json

    emit_json(data)


@contextmanager
def _transaction() -> Iterator[Session]:
    """Commit on success; on a refused operation print why and exit 1 with nothing changed."""
    session = get_db().session()
    try:
        yield session
        session.commit()
    except Problem as problem:
        session.rollback()
        _fail(problem.detail or problem.title)


def _actor(session: Session, as_user: str | None) -> Actor:
    if not as_user:
        return OPERATOR
    user = services.find_user(session, as_user)
    if user is None:
        raise Problem(404, "not-found", "Not Found", f"No user {as_user}.")
    return Actor.user(user)


def as_user_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--as-user EMAIL``: act as this user (membership checked) instead of the operator."""

    @click.option("--as-user", "as_user", metavar="EMAIL", default=None,
                  help="Act as this user: only their organisations' objects are visible.")
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


def _iso(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in summary.items()}


def describe_app(app: App) -> dict[str, Any]:
    """An app as the CLI prints it."""
    return _iso(services.app_summary(app))


def describe_key(key: ApiKey) -> dict[str, Any]:
    """A key's metadata as the CLI prints it (never its secret)."""
    return _iso(services.key_summary(key))


# --- orgs -------------------------------------------------------------------------------------


@click.group()
def orgs() -> None:
    """Organisations and their members."""


@orgs.command("create")
@click.argument("name")
@click.option("--owner", "owner_email", required=True, metavar="EMAIL",
              help="Owner's email; the user is created if new.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def orgs_create(name: str, owner_email: str, as_json: bool) -> None:
    """Create organisation NAME owned by EMAIL."""
    with _transaction() as session:
        organisation = services.create_organisation(session, name, owner_email)
        result = {"id": organisation.id, "name": organisation.name, "slug": organisation.slug,
                  "owner": services.normalise_email(owner_email)}
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"created organisation {result['name']!r} (id {result['id']}) "
                   f"owned by {result['owner']}")


@orgs.command("add-member")
@click.argument("organisation")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["owner", "admin", "developer", "billing"]),
              default="developer", show_default=True)
@as_user_option
@with_appcontext
def orgs_add_member(organisation: str, email: str, role: str, as_user: str | None) -> None:
    """Add EMAIL to ORGANISATION (id, slug or name) with a role."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        org = services.find_organisation(session, actor, organisation)
        services.add_member(session, actor, org.id, email, role)
    click.echo(f"added {services.normalise_email(email)} to {org.name!r} as {role}")


# --- apps -------------------------------------------------------------------------------------


@click.group()
def apps() -> None:
    """Developer apps."""


@apps.command("create")
@click.argument("name")
@click.option("--org", "organisation", required=True, help="Organisation id, slug or name.")
@click.option("--environment", type=click.Choice(["live", "test"]), default="live",
              show_default=True, help="test: a sandbox app with mob_test_ keys.")
@click.option("--public", is_flag=True, help="A public OAuth client (no secret; PKCE).")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="OAuth redirect URI.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@as_user_option
@with_appcontext
def apps_create(name: str, organisation: str, environment: str, public: bool,
                redirect_uris: tuple[str, ...], as_json: bool, as_user: str | None) -> None:
    """Create app NAME in an organisation."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        org = services.find_organisation(session, actor, organisation)
        app = services.create_app(session, actor, org.id, name, environment=environment,
                                  client_type="public" if public else "confidential",
                                  redirect_uris=redirect_uris)
        result = describe_app(app)
    if as_json:
        _echo_json(result)
    else:
        click.echo(f"created app {app.name!r} (id {app.id}, {app.environment}) in {org.name!r}")


@apps.command("list")
@click.option("--org", "organisation", default=None, help="Only this organisation.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@as_user_option
@with_appcontext
def apps_list(organisation: str | None, as_json: bool, as_user: str | None) -> None:
    """List apps."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        org_id = services.find_organisation(session, actor, organisation).id \
            if organisation else None
        result = [describe_app(a) for a in services.list_apps(session, actor, org_id)]
    if as_json:
        _echo_json(result)
        return
    for app in result:
        click.echo(f"{app['id']:>6}  {app['name']}  ({app['organisation']}, {app['environment']})")


# --- keys -------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """API keys (sent in the X-API-Key header)."""


@keys.command("create")
@click.option("--app", "app_ref", required=True, help="App id, or its name where unambiguous.")
@click.option("--plan", default=None, help="Subscribe the app to every product under this plan.")
@click.option("--label", default="", help="A note to tell keys apart.")
@click.option("--scope", "scopes", multiple=True, help="Limit the key to a scope (repeatable).")
@click.option("--expires-in", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="Expire the key after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@as_user_option
@with_appcontext
def keys_create(app_ref: str, plan: str | None, label: str, scopes: tuple[str, ...],
                expires_in: int | None, as_json: bool, as_user: str | None) -> None:
    """Issue an API key for an app and print it once."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        app = services.find_app(session, actor, app_ref)
        subscriptions = services.subscribe_to_all(session, actor, app.id, plan)
        expires_at = services.now() + timedelta(seconds=expires_in) if expires_in else None
        issued = services.issue_api_key(session, actor, app.id, label=label, scopes=scopes,
                                        expires_at=expires_at)
        result = {**describe_key(issued.key), "key": issued.raw,
                  "subscriptions": {s.product.slug: s.plan.slug for s in subscriptions}}
    if as_json:
        _echo_json(result)
        return
    click.echo(f"API key for app {app.name!r} (id {app.id}), shown once; store it now:")
    click.echo("")
    click.echo(f"  {issued.raw}")
    click.echo("")
    click.echo(f"key id {result['key_id']}; plans: "
               + ", ".join(f"{p} {s}" for p, s in result["subscriptions"].items()))
    click.echo("send it in the X-API-Key header")


@keys.command("list")
@click.option("--app", "app_ref", required=True, help="App id, or its name where unambiguous.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@as_user_option
@with_appcontext
def keys_list(app_ref: str, as_json: bool, as_user: str | None) -> None:
    """List an app's keys (ids and metadata; secrets are never shown again)."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        app = services.find_app(session, actor, app_ref)
        result = [describe_key(k) for k in services.list_api_keys(session, actor, app.id)]
    if as_json:
        _echo_json(result)
        return
    for key in result:
        expires = f" expires {key['expires_at']}" if key["expires_at"] else ""
        click.echo(f"{key['key_id']}  {key['status']}{expires}  {key['label']}")


@keys.command("rotate")
@click.argument("key_id")
@click.option("--overlap", type=click.IntRange(min=0, max=30 * 86_400), default=86_400,
              show_default=True, metavar="SECONDS",
              help="How long the old key keeps working.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@as_user_option
@with_appcontext
def keys_rotate(key_id: str, overlap: int, as_json: bool, as_user: str | None) -> None:
    """Issue a successor of KEY_ID; the old key works until the overlap ends."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        issued = services.rotate_api_key(session, actor, key_id, overlap_seconds=overlap)
        old = services.get_api_key(session, actor, key_id)
        result = {**describe_key(issued.key), "key": issued.raw,
                  "old_key_expires_at": old.expires_at.isoformat() if old.expires_at else None}
    if as_json:
        _echo_json(result)
        return
    click.echo("new API key, shown once; store it now:")
    click.echo("")
    click.echo(f"  {issued.raw}")
    click.echo("")
    click.echo(f"{key_id} keeps working until {result['old_key_expires_at']}")


@keys.command("revoke")
@click.argument("key_id")
@as_user_option
@with_appcontext
def keys_revoke(key_id: str, as_user: str | None) -> None:
    """Revoke KEY_ID; every worker refuses it within seconds."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        services.revoke_api_key(session, actor, key_id)
    click.echo(f"revoked {key_id}")
