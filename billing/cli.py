"""``mobihub usage …``: flush the meter into the ledger and show an app's totals.

Run ``mobihub usage flush`` from cron (every minute) when the hub uses a Redis server; on the
embedded store the web worker flushes by itself (``USAGE_FLUSH_IN_WORKER``). See
docs/gateway.md.
"""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext

from app.accounts import services as accounts
from app.db import get_db
from app.errors import Problem
from billing.ledger import totals
from billing.metering import STEPS, FlushInterrupted, flush_usage, pending_calls


@click.group()
def usage() -> None:
    """Metered API usage."""


@usage.command("flush")
@click.option("--recover-after", default=30.0, show_default=True, type=float,
              help="Re-apply buckets claimed by a flush that died at least this many seconds ago.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--crash-after", type=click.Choice(STEPS), default=None, hidden=True,
              help="Drills and tests: die (exit 75, no clean-up) right after this step.")
@with_appcontext
def usage_flush(recover_after: float, as_json: bool, crash_after: str | None) -> None:
    """Move the Redis usage buckets into the SQL ledger (idempotent; safe to rerun)."""
    try:
        result = flush_usage(recover_after=recover_after, stop_after=crash_after)
    except FlushInterrupted:
        os._exit(75)  # like a kill: no finally blocks, no rollback, no Redis clean-up
    if as_json:
        from app.cli import emit_json

        emit_json(result.as_dict())
        return
    click.echo(f"flushed {result.applied} bucket(s): {result.admitted} admitted, "
               f"{result.rejected} rejected call(s)"
               + (f"; recovered {result.recovered}" if result.recovered else ""))


@usage.command("show")
@click.option("--app", "app_ref", required=True, help="The app's id, or its name if unambiguous.")
@click.option("--as-user", "as_user", metavar="EMAIL", default=None,
              help="Act as this user: only their organisations' apps are visible.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def usage_show(app_ref: str, as_user: str | None, as_json: bool) -> None:
    """Total admitted and rejected calls of an app (ledger, plus what is not flushed yet)."""
    from app.cli import emit_json, fail

    session = get_db().session()
    try:
        actor = accounts.OPERATOR
        if as_user:
            user = accounts.find_user(session, as_user)
            if user is None:
                raise Problem(404, "not-found", "Not Found", f"No user {as_user}.")
            actor = accounts.Actor.user(user)
        app = accounts.find_app(session, actor, app_ref)
    except Problem as problem:
        fail(problem.detail or problem.title)
        return
    ledger = totals(session, app_id=app.id)
    unflushed = pending_calls(current_app.extensions["mobihub.live"].client, app_id=app.id)
    data = {"app_id": app.id, "app": app.name, "organisation_id": app.organisation_id,
            "admitted": ledger["admitted"] + unflushed["admitted"],
            "rejected": ledger["rejected"] + unflushed["rejected"],
            "unflushed": unflushed}
    if as_json:
        emit_json(data)
    else:
        click.echo(f"app {app.id} ({app.name}): {data['admitted']} admitted, "
                   f"{data['rejected']} rejected call(s)"
                   + (f" ({unflushed['admitted'] + unflushed['rejected']} not flushed yet)"
                      if unflushed["admitted"] or unflushed["rejected"] else ""))
