"""The ``mobihub`` command. Its commands and options are a public interface: operators script
them, so existing names and exit codes stay stable; new ones may be added.

Exit codes: 0 success, 1 the operation was refused (bad feed, unknown name …), 2 usage error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from app.db import get_db


def _create_app() -> Any:
    from app import create_app

    return create_app()


class _MobiHubGroup(FlaskGroup):
    """The command group: a database the commands cannot use is a readable error, exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        import sqlalchemy as sa

        try:
            return super().invoke(ctx)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            fail(problem)


def database_problem(exc: Exception) -> str | None:
    """What an operator should hear about a database error a command ran into, or None when
    it is not one of the database's own state (a bug in the command: its traceback stays)."""
    text = str(getattr(exc, "orig", exc)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    # SQLite: "no such table"; PostgreSQL: undefined table (SQLSTATE 42P01) or column (42703).
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if "no such table" in text or "no such column" in text or sqlstate in ("42P01", "42703"):
        return (f"the database is not set up for this version of MobiHub ({first}); "
                "run `mobihub db upgrade` first")
    if getattr(exc, "connection_invalidated", False) or (sqlstate is None and (
            "connect" in text or "unable to open database" in text)):
        return f"cannot use the database: {first}"
    return None


@click.group(cls=_MobiHubGroup, create_app=_create_app, add_default_commands=False,
             add_version_option=False, load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """MobiHub: open mobility services marketplace."""


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="mobihub")


def fail(message: str, code: int = 1) -> None:
    """Print a readable error to stderr and exit with ``code`` (never a traceback)."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def emit_json(data: Any) -> None:
    """Print one JSON document to stdout."""
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


# --- db ---------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from app.migrate import current_revisions, upgrade

    engine = get_db().engine
    upgrade(engine)
    click.echo(f"database at {', '.join(sorted(current_revisions(engine)))} "
               f"({engine.dialect.name})")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--head", default="base", show_default=True, help="Parent revision or branch.")
@click.option("--branch-label", default=None, help="Start a new branch with this label.")
@with_appcontext
def db_revision(message: str, head: str, branch_label: str | None) -> None:
    """Autogenerate a migration from the models (developers)."""
    from alembic import command

    from app.migrate import alembic_config

    config = alembic_config(get_db().engine)
    command.revision(config, message=message, autogenerate=True, head=head,
                     branch_label=branch_label)


# --- serve ------------------------------------------------------------------------------------


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int,
              help="Worker processes [default: 2 with Redis; 1 on the embedded store].")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the hub with gunicorn (portal, interactive docs and APIs on one port)."""
    from app.server import run_gunicorn

    embedded = not os.environ.get("MOBIHUB_REDIS_URL")
    if embedded and workers and workers > 1:
        click.secho("note: without MOBIHUB_REDIS_URL the live store is in-process; "
                    "serving with 1 worker so every request sees the same counters.",
                    fg="yellow", err=True)
        workers = 1
    run_gunicorn(_create_app, host=host, port=port,
                 workers=workers or (1 if embedded else 2), threads=threads)


# --- openapi ----------------------------------------------------------------------------------


@cli.group()
def openapi() -> None:
    """Published OpenAPI specs."""


@openapi.command("write")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def openapi_write(directory: Path | None) -> None:
    """Write ``<product>.v1.yaml`` for every API product (default: ./openapi)."""
    from apis import write_specs

    for path in write_specs(current_app, directory or Path("openapi")):
        click.echo(str(path))


# --- demo -------------------------------------------------------------------------------------


@cli.command("demo")
@with_appcontext
def demo() -> None:
    """Create the demo data (idempotent) and print how to use it."""
    from app.demo import run_demo

    for line in run_demo(get_db().session()):
        click.echo(line)


def register_command_groups() -> None:
    """Attach the command groups that live with their domain packages."""
    from app.accounts.cli import apps, keys, orgs
    from app.oauth.cli import oauth
    from billing.cli import usage
    from providers.cli import feeds

    cli.add_command(feeds)
    cli.add_command(usage)
    for group in (orgs, apps, keys, oauth):
        cli.add_command(group)


register_command_groups()
