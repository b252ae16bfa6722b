"""Store a transit feed version's records in the canonical tables, streaming.

On PostgreSQL every table is loaded with ``COPY … FROM STDIN`` through the session's own psycopg
connection (so it runs inside the import's transaction and rolls back with it); on SQLite with
``executemany`` over the record iterator in the same transaction. Neither path holds a whole
table in memory: the big tables arrive as lazy iterators from the adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from providers.base import ImportResult
from providers.models import Feed, FeedVersion
from providers.transit.records import RECORD_TABLES, WRITE_ORDER


class TransitFeedWriter:
    """Writes GTFS-shaped records (``providers.transit.records``) under one feed version."""

    def write(self, session: Session, feed: Feed, version: FeedVersion | None,
              result: ImportResult, context: Any) -> dict[str, int]:
        """Store every record type; return the rows written, keyed by GTFS file name."""
        if version is None:
            raise ValueError("the static transit writer needs a feed version")
        counts: dict[str, int] = {}
        records = result.records
        connection = session.connection()
        dialect = connection.dialect.name
        for name in [*WRITE_ORDER, *(k for k in records if k not in WRITE_ORDER)]:
            if name not in records or name not in RECORD_TABLES:
                continue
            table, columns = RECORD_TABLES[name]
            counter = _Counter(records[name])
            if dialect == "postgresql":
                copy_rows(session, table, ("feed_version_id", *columns),
                          _with_version(version.id, counter))
            else:
                insert_rows(session, table, ("feed_version_id", *columns),
                            _with_version(version.id, counter))
            counts[name] = counter.count
        if dialect == "postgresql":
            # Fresh statistics after a bulk load, or the planner scans stop_times for every
            # departures query until autovacuum catches up (PostgreSQL docs, "ANALYZE").
            # Every table written, small ones too: a stale row estimate on transit_route once
            # made the planner run the whole departures query once per route.
            analyzed = ", ".join(RECORD_TABLES[name][0] for name in counts)
            if analyzed:
                connection.exec_driver_sql(f"ANALYZE {analyzed}")
        service_range = result.meta.get("service_range")
        if service_range:
            version.service_start, version.service_end = service_range
        return counts


class _Counter:
    """Counts the records an iterator yields, without holding them."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple]:
        for row in self.rows:
            self.count += 1
            yield row


def _with_version(version_id: int, rows: Iterable[tuple]) -> Iterator[tuple]:
    for row in rows:
        yield (version_id, *row)


def copy_rows(session: Session, table: str, columns: tuple[str, ...],
              rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY of ``rows`` into ``table`` on the session's connection (same transaction)."""
    driver = session.connection().connection.driver_connection
    column_list = ", ".join(columns)
    with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(session: Session, table: str, columns: tuple[str, ...],
                rows: Iterable[tuple]) -> None:
    """``executemany`` over the iterator on the session's DB-API connection (SQLite path)."""
    driver = session.connection().connection.driver_connection
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()
