"""Import a feed payload as a new version and switch to it atomically.

The whole import runs in one database transaction: records are written under the new
``FeedVersion``, and the feed's active version is switched in the same transaction only when
the report has no fatal problem. A rejected or crashed import is rolled back entirely and then
recorded as a ``rejected`` version with its report, so nothing served before is lost and no
half-written version is ever visible. Identical content is detected by SHA-256 and not imported
again. Real-time payloads (GTFS-RT, DATEX II status) update the live store instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.services import slugify
from app.db import utcnow
from providers.base import FeedFormatError, ImportResult, ValidationReport
from providers.fetch import FetchError, FetchPolicy, Payload, read_source
from providers.models import Feed, FeedVersion, Provider
from providers.registry import get_adapter, get_writer

log = logging.getLogger("mobihub.providers.sync")

# Versions kept per feed besides the active one (for reports and rollback by an operator).
KEEP_VERSIONS = 2
# Rejected versions kept per feed (their reports; they hold no records). A feed polled while
# broken would otherwise add one every poll, for ever.
KEEP_REJECTED = 5

Status = Literal["imported", "unchanged", "rejected", "applied"]


class FeedWriter(Protocol):
    """Stores an adapter's records. Static writers get a version; real-time ones do not."""

    def write(self, session: Session, feed: Feed, version: FeedVersion | None,
              result: ImportResult, context: ImportContext) -> dict[str, int]: ...


@dataclass
class ImportContext:
    """What a writer may need besides the records: the clock and the live store."""

    now: datetime
    live: Any = None


@dataclass
class ImportOutcome:
    """What an import did, for the CLI, the portal and the API."""

    status: Status
    provider: str
    format: str
    message: str
    feed_version_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "provider": self.provider,
            "format": self.format,
            "message": self.message,
            "feed_version_id": self.feed_version_id,
            "counts": self.counts,
            "errors": self.report.by_code("error"),
            "warnings": self.report.by_code("warning"),
            "top_problems": [i.as_dict() for i in self.report.top(10)],
        }


def import_feed(
    session: Session,
    *,
    provider: str,
    source: str,
    format_name: str | None,
    config: Mapping[str, Any] | None = None,
    policy: FetchPolicy | None = None,
    live: Any = None,
    clock: Callable[[], datetime] = utcnow,
) -> ImportOutcome:
    """Read ``source`` and import it for ``provider`` in ``format_name``.

    Without a format, a transit feed's is told from its content (``detect_transit_format``);
    parking formats are always named, since JSON and XML say too little on their own.
    """
    adapter = get_adapter(format_name) if format_name else None  # unknown: before fetching
    try:
        payload = read_source(source, policy or FetchPolicy())
    except FetchError as exc:
        return _rejected_without_version(provider, format_name or "unknown", str(exc))
    if format_name is None:
        format_name = detect_transit_format(payload.content)
        if format_name is None:
            return _rejected_without_version(
                provider, "unknown", "The feed's format cannot be told from its content (it is "
                "neither a GTFS zip nor a GTFS-Realtime message); name it with --format.")
    return import_payload(session, provider=provider, payload=payload, format_name=format_name,
                          config=config or {}, adapter=adapter, live=live, clock=clock)


def import_payload(
    session: Session,
    *,
    provider: str,
    payload: Payload,
    format_name: str,
    config: Mapping[str, Any],
    adapter: Any = None,
    live: Any = None,
    clock: Callable[[], datetime] = utcnow,
) -> ImportOutcome:
    """Import bytes already read (the portal's uploads come in here)."""
    adapter = adapter or get_adapter(format_name)
    _begin_writing(session)
    provider_row = _get_or_create_provider(session, provider)
    feed = _get_or_create_feed(session, provider_row, format_name, payload.source, config)
    feed_id, provider_slug, feed_config = feed.id, provider_row.slug, dict(feed.config)
    session.commit()
    digest = _digest(payload)
    context = ImportContext(now=clock(), live=live)

    try:
        result = adapter.parse(payload.content, {**feed_config, **config, "source": payload.source})
    except FeedFormatError as exc:
        return _record_rejection(session, feed_id, provider_slug, format_name, digest, payload,
                                 str(exc), context, code=exc.code)

    # The import reads (the active version, the schedule) before it writes: on SQLite its
    # transaction takes the write lock first, so imports running at once wait for each other.
    _begin_writing(session)

    realtime = bool(result.meta.get("realtime", adapter.info.realtime))
    writer = get_writer(adapter.info.kind, realtime)
    if realtime:
        try:
            counts = writer.write(session, feed, None, result, context)
            session.commit()
        except FeedFormatError as exc:
            session.rollback()
            return _rejected_without_version(provider_slug, format_name, str(exc))
        return ImportOutcome("applied", provider_slug, format_name,
                             f"Applied a real-time update for {provider_slug}.",
                             counts=counts, report=result.report)

    active = feed.active_version
    if active is not None and active.content_sha256 == digest:
        return ImportOutcome("unchanged", provider_slug, format_name,
                             "Identical to the active version; nothing imported.",
                             feed_version_id=active.id, counts=dict(active.counts),
                             report=ValidationReport.from_dict(active.report))

    version = FeedVersion(feed_id=feed_id, content_sha256=digest,
                          content_bytes=len(payload.content), source=payload.source,
                          fetched_at=context.now, status="importing")
    session.add(version)
    session.flush()
    try:
        counts = writer.write(session, feed, version, result, context)
    except FeedFormatError as exc:
        session.rollback()
        return _record_rejection(session, feed_id, provider_slug, format_name, digest, payload,
                                 str(exc), context, code=exc.code, report=result.report)
    except Exception:
        session.rollback()
        log.exception("import crashed", extra={"provider": provider_slug, "format": format_name})
        _record_rejection(session, feed_id, provider_slug, format_name, digest, payload,
                          "The import failed unexpectedly; the previous data is still served.",
                          context, code="import_crashed", report=result.report)
        raise

    report = result.report
    if report.rejected:
        session.rollback()
        first = report.fatal[0].message
        return _record_rejection(session, feed_id, provider_slug, format_name, digest, payload,
                                 f"Feed rejected: {first}", context, report=report,
                                 counts=counts)

    _activate(session, feed, version, counts, report, context.now)
    session.commit()
    return ImportOutcome("imported", provider_slug, format_name,
                         f"Imported version {version.id} of {provider_slug} ({format_name}).",
                         feed_version_id=version.id, counts=counts, report=report)


def _begin_writing(session: Session) -> None:
    """Begin a transaction that takes SQLite's write lock at once (a caller's transaction
    already in progress is joined as it is)."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def _activate(session: Session, feed: Feed, version: FeedVersion, counts: dict[str, int],
              report: ValidationReport, now: datetime) -> None:
    # Imports of one feed may run at once (a cron sync and an operator): the feed row is
    # locked (PostgreSQL; SQLite has one writer at a time) and every version still marked
    # active is superseded by a statement that sees what others committed meanwhile, so
    # exactly one version stays active, the one the feed points at.
    session.execute(sa.select(Feed.id).where(Feed.id == feed.id).with_for_update(key_share=True))
    session.execute(
        sa.update(FeedVersion)
        .where(FeedVersion.feed_id == feed.id, FeedVersion.status == "active",
               FeedVersion.id != version.id)
        .values(status="superseded"))
    session.expire(feed)
    version.status = "active"
    version.imported_at = now
    version.counts = counts
    version.report = report.as_dict()
    version.error_count = report.count("error")
    version.warning_count = report.count("warning")
    feed.active_version = version
    session.flush()
    _prune(session, feed.id, keep_ids={version.id})


def _prune(session: Session, feed_id: int, keep_ids: set[int]) -> None:
    """Delete superseded versions beyond ``KEEP_VERSIONS`` (their records cascade: a transit
    version is a few thousand rows, its stop times packed) and rejected ones beyond
    ``KEEP_REJECTED``."""
    superseded = session.scalars(
        sa.select(FeedVersion.id)
        .where(FeedVersion.feed_id == feed_id, FeedVersion.status == "superseded")
        .order_by(FeedVersion.id.desc())
    ).all()
    rejected = session.scalars(
        sa.select(FeedVersion.id)
        .where(FeedVersion.feed_id == feed_id, FeedVersion.status == "rejected")
        .order_by(FeedVersion.id.desc())
    ).all()
    doomed = [vid for vid in [*superseded[KEEP_VERSIONS:], *rejected[KEEP_REJECTED:]]
              if vid not in keep_ids]
    if doomed:
        session.execute(sa.delete(FeedVersion).where(FeedVersion.id.in_(doomed)))


def _record_rejection(session: Session, feed_id: int, provider: str, format_name: str,
                      digest: str, payload: Payload, message: str, context: ImportContext, *,
                      code: str = "rejected", report: ValidationReport | None = None,
                      counts: dict[str, int] | None = None) -> ImportOutcome:
    report = report or ValidationReport()
    if not report.rejected:
        report.add(code, "error", message, fatal=True)
    version = FeedVersion(feed_id=feed_id, content_sha256=digest,
                          content_bytes=len(payload.content), source=payload.source,
                          fetched_at=context.now, status="rejected",
                          counts=counts or {}, report=report.as_dict(),
                          error_count=report.count("error"),
                          warning_count=report.count("warning"))
    session.add(version)
    session.flush()
    _prune(session, feed_id, keep_ids={version.id})
    session.commit()
    return ImportOutcome("rejected", provider, format_name, message, feed_version_id=version.id,
                         counts=counts or {}, report=report)


def detect_transit_format(content: bytes) -> str | None:
    """``gtfs`` for a zip (a folder arrives zipped), ``gtfs-rt`` for a GTFS-Realtime
    FeedMessage (its header names the spec version), else None."""
    if content.startswith(b"PK\x03\x04"):
        return "gtfs"
    from google.protobuf.message import DecodeError
    from google.transit import gtfs_realtime_pb2

    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(content)
    except (DecodeError, ValueError):
        return None
    return "gtfs-rt" if message.header.gtfs_realtime_version else None


def _rejected_without_version(provider: str, format_name: str, message: str) -> ImportOutcome:
    report = ValidationReport()
    report.add("unreadable_source", "error", message, fatal=True)
    return ImportOutcome("rejected", provider, format_name, message, report=report)


def _get_or_create(session: Session, query: Any, make: Callable[[], Any]) -> Any:
    """The row ``query`` finds, else a new one from ``make``. Another import may create it at
    the same moment: the unique key then refuses this insert (in a savepoint), and the other
    import's row is read back."""
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                row = make()
                session.add(row)
        except sa.exc.IntegrityError:
            row = session.scalars(query).one()
    return row


def _digest(payload: Payload) -> str:
    return hashlib.sha256(payload.content).hexdigest()


def _get_or_create_provider(session: Session, name: str) -> Provider:
    slug = slugify(name)
    return _get_or_create(session, sa.select(Provider).where(Provider.slug == slug),
                          lambda: Provider(slug=slug, name=name))


def _get_or_create_feed(session: Session, provider: Provider, format_name: str, source: str,
                        config: Mapping[str, Any]) -> Feed:
    feed = _get_or_create(
        session,
        sa.select(Feed).where(Feed.provider_id == provider.id, Feed.format == format_name),
        lambda: Feed(provider_id=provider.id, format=format_name, config=dict(config)))
    if source.startswith(("http://", "https://")):
        feed.source_url = source
    session.flush()
    return feed
