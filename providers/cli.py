"""``mobihub feeds …``: import, list and report on provider feeds."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
import yaml
from flask import current_app
from flask.cli import with_appcontext

from app.db import get_db
from providers.base import ValidationReport
from providers.fetch import FetchPolicy
from providers.models import Feed, FeedVersion, Provider
from providers.registry import UnknownFormatError, format_names
from providers.sync import ImportOutcome, import_feed


def _echo_json(data: Any) -> None:
    from app.cli import emit_json

    emit_json(data)


def _fail(message: str) -> None:
    from app.cli import fail

    fail(message)


@click.group()
def feeds() -> None:
    """Provider feeds."""


@feeds.command("import")
@click.argument("source")
@click.option("--provider", required=True, help="Provider name; created on first import.")
@click.option("--format", "format_name", default=None,
              help="Feed format: " + ", ".join(format_names() or ["(see feeds formats)"])
              + ". Optional for transit feeds: a zip is gtfs, a GTFS-Realtime message gtfs-rt.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Field mapping (YAML or JSON) for GeoJSON and CSV feeds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def import_command(source: str, provider: str, format_name: str | None,
                   mapping: Path | None, as_json: bool) -> None:
    """Import a feed from PATH_OR_URL; exit 1 with the top problems when it is rejected."""
    config: dict[str, Any] = {}
    if mapping is not None:
        try:
            loaded = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            _fail(f"cannot read mapping {mapping}: {exc}")
        if not isinstance(loaded, dict):
            _fail(f"mapping {mapping} must be a YAML or JSON object")
        config["mapping"] = loaded
    policy = FetchPolicy(
        timeout=current_app.config["FEED_FETCH_TIMEOUT_SECONDS"],
        max_bytes=current_app.config["FEED_FETCH_MAX_BYTES"],
        allow_private=current_app.config["FEED_FETCH_ALLOW_PRIVATE"],
        deadline=current_app.config["FEED_FETCH_DEADLINE_SECONDS"],
    )
    from app.live import get_redis

    try:
        outcome = import_feed(get_db().session(), provider=provider, source=source,
                              format_name=format_name, config=config, policy=policy,
                              live=get_redis())
    except UnknownFormatError as exc:
        _fail(str(exc))
        return
    if as_json:
        _echo_json(outcome.as_dict())
    else:
        _print_outcome(outcome)
    if not outcome.ok:
        raise SystemExit(1)


def _print_outcome(outcome: ImportOutcome) -> None:
    if outcome.ok:
        click.secho(outcome.message, fg="green")
    else:
        # The reason is the report's first (fatal) problem, printed below with its code and
        # place; the status line does not repeat it.
        fatal = outcome.report.fatal
        repeated = bool(fatal) and fatal[0].message in outcome.message
        click.secho("Feed rejected; the data served before is unchanged." if repeated
                    else outcome.message, fg="red", err=True)
    if outcome.feed_version_id:
        click.echo(f"feed version: {outcome.feed_version_id}")
    for name, count in outcome.counts.items():
        click.echo(f"  {name:<20} {count:>10,}")
    _print_report(outcome.report)


def _print_report(report: ValidationReport) -> None:
    for label, counts in (("errors", report.by_code("error")),
                          ("warnings", report.by_code("warning"))):
        if counts:
            click.echo(f"{label}: " + ", ".join(f"{c} x{n}" for c, n in counts.items()))
    for issue in report.top(10):
        where = ":".join(str(p) for p in (issue.file, issue.line) if p is not None)
        field = f" [{issue.field}]" if issue.field else ""
        click.echo(f"  {issue.severity:<7} {issue.code:<28} {where}{field} {issue.message}")


@feeds.command("formats")
def formats_command() -> None:
    """List the importable feed formats."""
    for name in format_names():
        click.echo(name)


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@with_appcontext
def list_command(as_json: bool) -> None:
    """List feeds with their active version."""
    session = get_db().session()
    rows = session.execute(
        sa.select(Provider.slug, Feed.format, Feed.id, FeedVersion)
        .join(Feed, Feed.provider_id == Provider.id)
        .outerjoin(FeedVersion, FeedVersion.id == Feed.active_version_id)
        .order_by(Provider.slug, Feed.format)
    ).all()
    items = [
        {
            "provider": slug, "format": fmt, "feed_id": feed_id,
            "active_version": version.id if version else None,
            "imported_at": version.imported_at.isoformat() if version else None,
            "counts": version.counts if version else {},
        }
        for slug, fmt, feed_id, version in rows
    ]
    if as_json:
        _echo_json(items)
        return
    if not items:
        click.echo("no feeds yet: mobihub feeds import PATH_OR_URL --provider NAME --format F")
    for item in items:
        counts = ", ".join(f"{k} {v:,}" for k, v in item["counts"].items())
        click.echo(f"{item['provider']:<24} {item['format']:<10} "
                   f"version {item['active_version'] or '-':<6} {counts}")


def _iso(value: date | None) -> str | None:
    """ISO 8601 (``2024-05-01T12:00:00+00:00``, ``2024-05-01``), as ``feeds list`` prints."""
    return value.isoformat() if value is not None else None


@feeds.command("report")
@click.argument("version", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def report_command(version: int, as_json: bool) -> None:
    """Show the validation report of a feed version."""
    # An id beyond the database's 64-bit keys names no version (SQLite would overflow).
    row = get_db().session().get(FeedVersion, version) if 0 < version < 2**63 else None
    if row is None:
        _fail(f"no feed version {version}")
        return
    data = {
        "feed_version_id": row.id, "status": row.status, "source": row.source,
        "sha256": row.content_sha256, "fetched_at": _iso(row.fetched_at),
        "imported_at": _iso(row.imported_at), "service_start": _iso(row.service_start),
        "service_end": _iso(row.service_end), "counts": row.counts, "report": row.report,
    }
    if as_json:
        _echo_json(data)
        return
    click.echo(f"version {row.id}: {row.status} ({row.source})")
    for name, count in row.counts.items():
        click.echo(f"  {name:<20} {count:>10,}")
    _print_report(ValidationReport.from_dict(row.report or {}))
