"""``mobihub oauth …``: OAuth2 clients and the access token signing key set."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.accounts import services as accounts
from app.accounts.cli import _actor, _echo_json, _transaction, as_user_option
from app.oauth import services
from app.oauth.keystore import seal_plaintext_keys
from app.oauth.models import SigningKey
from app.oauth.tokens import ensure_signing_key, retire_signing_key, rotate_signing_keys


@click.group()
def oauth() -> None:
    """OAuth2 clients and signing keys."""


@oauth.group()
def clients() -> None:
    """OAuth2 clients of apps."""


@clients.command("create")
@click.option("--app", "app_ref", required=True, help="App id, or its name where unambiguous.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@as_user_option
@with_appcontext
def clients_create(app_ref: str, as_json: bool, as_user: str | None) -> None:
    """Register an OAuth2 client for an app; prints the client id and secret once."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        app = accounts.find_app(session, actor, app_ref)
        registered = services.create_client(session, actor, app.id)
        client = registered.client
        result = {"client_id": client.client_id, "client_secret": registered.secret,
                  "app_id": app.id, "client_type": app.client_type,
                  "grant_types": list(client.grant_types)}
    if as_json:
        _echo_json(result)
        return
    click.echo(f"OAuth2 client for app {app.name!r} (id {app.id}, {app.client_type}):")
    click.echo(f"  client_id      {client.client_id}")
    if registered.secret:
        click.echo(f"  client_secret  {registered.secret}")
        click.echo("the secret is shown once; store it now")
    else:
        click.echo("public client: no secret; use the authorization code flow with PKCE (S256)")


@clients.command("list")
@click.option("--app", "app_ref", required=True, help="App id, or its name where unambiguous.")
@as_user_option
@with_appcontext
def clients_list(app_ref: str, as_user: str | None) -> None:
    """List an app's OAuth2 clients (ids only; secrets are never shown again)."""
    with _transaction() as session:
        actor = _actor(session, as_user)
        app = accounts.find_app(session, actor, app_ref)
        rows = [(c.client_id, "revoked" if c.revoked_at else "active")
                for c in services.list_clients(session, actor, app.id)]
    for client_id, status in rows:
        click.echo(f"{client_id}  {status}")


@oauth.group("keys")
def signing_keys() -> None:
    """The key set that signs access tokens (served at /oauth/jwks.json)."""


@signing_keys.command("list")
@with_appcontext
def keys_list() -> None:
    """List signing keys and their status."""
    with _transaction() as session:
        ensure_signing_key(session)
        rows = [(k.kid, k.status, k.created_at.isoformat()) for k in session.scalars(
            sa.select(SigningKey).order_by(SigningKey.id))]
    for kid, status, created in rows:
        click.echo(f"{kid}  {status}  created {created}")


@signing_keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Sign with a new key; the previous key keeps verifying until the next rotation."""
    with _transaction() as session:
        key = rotate_signing_keys(session)
        kid = key.kid
    click.echo(f"signing with {kid}; the previous key verifies until it is retired")


@signing_keys.command("seal")
@with_appcontext
def keys_seal() -> None:
    """Encrypt signing keys still stored in the clear (rows from before sealing existed)."""
    with _transaction() as session:
        count = seal_plaintext_keys(session)
    click.echo(f"{count} signing key(s) sealed")


@signing_keys.command("retire")
@click.argument("kid")
@with_appcontext
def keys_retire(kid: str) -> None:
    """Stop trusting a retiring key now (tokens it signed are refused)."""
    with _transaction() as session:
        retire_signing_key(session, kid)
    click.echo(f"retired {kid}")
