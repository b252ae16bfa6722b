"""Store a transit feed version's records in the canonical tables, streaming.

On PostgreSQL every table is loaded with ``COPY … FROM STDIN`` through the session's own psycopg
connection (so it runs inside the import's transaction and rolls back with it); on SQLite with
``executemany`` over the record iterator in the same transaction. Neither path holds a whole
table in memory: the big tables arrive as lazy iterators from the adapter.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import logging
import threading
from collections.abc import Iterable, Iterator
from queue import Empty, Full, Queue
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from providers.base import ImportResult
from providers.models import Feed, FeedVersion
from providers.transit.records import RECORD_TABLES, WRITE_ORDER

log = logging.getLogger(__name__)

# Record types whose text fields are never empty strings (ids are required; optional text is
# None), so COPY's CSV format (unquoted empty = NULL) stores them exactly.
CSV_SAFE = frozenset({"stop_times", "shapes", "trips"})
COPY_BLOCK_ROWS = 10_000
# PostgreSQL tables partitioned by feed version (LIST), see copy_into_partition. Their records
# must be CSV_SAFE too.
PARTITIONED = frozenset({"transit_stop_time"})
# How long pruning waits for a reader holding an old version's partition before it falls back
# to deleting the rows (see TransitFeedWriter.before_prune).
PRUNE_LOCK_TIMEOUT = "500ms"
# Batches (about 1 MB of CSV each) parsed ahead of the database write, see ``prefetched``.
PREFETCH_BATCHES = 2
# SQLite page cache (KiB) while a big table is inserted, see ``insert_rows``.
BULK_CACHE_KIB = 32 * 1024


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
            count = [0]
            batches = getattr(records[name], "batches", None)
            if batches is not None:  # Arrow tables and lists of tuples (GTFS stop_times)
                rows = _BatchRows(version.id, prefetched(batches()), count)
            else:
                rows = _versioned(version.id, records[name], count)
            if dialect == "postgresql" and table in PARTITIONED:
                copy_into_partition(session, table, version.id, ("feed_version_id", *columns),
                                    rows)
            elif dialect == "postgresql":
                copy_rows(session, table, ("feed_version_id", *columns), rows,
                          csv_text=name in CSV_SAFE)
            else:
                insert_rows(session, table, ("feed_version_id", *columns), rows,
                            version_id=version.id)
            counts[name] = count[0]
        if dialect == "postgresql":
            # Fresh statistics after a bulk load, or the planner scans stop_times for every
            # departures query until autovacuum catches up (PostgreSQL docs, "ANALYZE").
            # Every table written, small ones too: a stale row estimate on transit_route once
            # made the planner run the whole departures query once per route.
            # A partitioned table: its new partition only (the planner prunes to it; analyzing
            # the parent would sample every version's partition again).
            analyzed = ", ".join(
                f"{table}_v{int(version.id)}" if table in PARTITIONED else table
                for table in (RECORD_TABLES[name][0] for name in counts))
            if analyzed:
                connection.exec_driver_sql(f"ANALYZE {analyzed}")
            _drop_orphans_after_commit(session)
        service_range = result.meta.get("service_range")
        if service_range:
            version.service_start, version.service_end = service_range
        return counts


    def before_prune(self, session: Session, version_ids: list[int]) -> None:
        """PostgreSQL: empty the stop_times partitions of versions about to be pruned.

        Deleting a version would otherwise cascade to its partition row by row (a whole
        timetable of WAL and dead tuples); TRUNCATE swaps in an empty file instead. It locks only
        that partition (the active versions' readers never touch it), at most
        ``PRUNE_LOCK_TIMEOUT`` long: a query planned across every partition may hold it, and
        then the cascade does the work. The empty partition is dropped after the commit
        (``drop_orphan_partitions``), since DROP needs the parent's lock.
        """
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return
        previous = connection.exec_driver_sql("SHOW lock_timeout").scalar()
        for table in sorted(PARTITIONED):
            for version_id in version_ids:
                partition = f"{table}_v{int(version_id)}"
                if connection.exec_driver_sql("SELECT to_regclass(%(name)s)",
                                              {"name": partition}).scalar() is None:
                    continue
                try:
                    with session.begin_nested():
                        connection.exec_driver_sql(
                            "SELECT set_config('lock_timeout', %(timeout)s, true)",
                            {"timeout": PRUNE_LOCK_TIMEOUT})
                        connection.exec_driver_sql(f'TRUNCATE "{partition}"')
                except sa.exc.OperationalError:
                    log.info("%s is busy; the prune deletes its rows instead.", partition)
                finally:
                    connection.exec_driver_sql("SELECT set_config('lock_timeout', %(timeout)s, "
                                               "true)", {"timeout": previous})


def prefetched(batches: Iterator[Any], depth: int = PREFETCH_BATCHES) -> Iterator[Any]:
    """The batches, produced by a worker thread up to ``depth`` ahead of the consumer.

    The adapter's parse (zip inflation, Arrow's CSV reader and compute kernels) and the
    database write (PostgreSQL's COPY, SQLite's executemany) release the GIL for most of their
    work, so with two cores the next batch is parsed while this one is written. Single
    consumer; the producer's exceptions are raised here; abandoning the iterator stops it.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(("batch", batch), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised in its thread
            queue.put(("error", exc))

    worker = threading.Thread(target=produce, name="transit-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to put, then let it finish
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        worker.join()


def _versioned(version_id: int, rows: Iterable[tuple], count: list[int]) -> Iterator[tuple]:
    """The rows with the version id in front, counted in ``count[0]`` (one generator layer)."""
    n = 0
    try:
        for row in rows:
            n += 1
            yield (version_id, *row)
    finally:
        count[0] = n


class _BatchRows:
    """Batched records with the version id in front: tuples when iterated, CSV blocks for COPY.

    A batch is an Arrow table (CSV-encoded by Arrow, in C) or a list of tuples.
    """

    def __init__(self, version_id: int, batches: Iterator[Any], count: list[int]) -> None:
        self.version_id = version_id
        self.batches = batches
        self.count = count

    def __iter__(self) -> Iterator[tuple]:
        version_id = self.version_id
        for batch in self.batches:
            if isinstance(batch, list):
                self.count[0] += len(batch)
                for row in batch:
                    yield (version_id, *row)
            else:
                self.count[0] += batch.num_rows
                yield from zip(itertools.repeat(version_id),
                               *(column.to_pylist() for column in batch.columns))

    def csv_blocks(self) -> Iterator[bytes | str]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.csv as pacsv

        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for batch in self.batches:
            if isinstance(batch, list):
                self.count[0] += len(batch)
                writer.writerows((self.version_id, *row) for row in batch)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                continue
            self.count[0] += batch.num_rows
            batch = batch.add_column(0, "feed_version_id", pa.array(
                np.full(batch.num_rows, self.version_id, np.int64)))
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, options)
            yield sink.getvalue().to_pybytes()


def copy_into_partition(session: Session, table: str, version_id: int,
                        columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """PostgreSQL: load a version's rows into its own new partition of ``table``.

    COPY into a fresh table with no index (frozen, so index-only scans work at once), then
    attach it, which builds its indexes by sorting and checks the foreign key with one query:
    much cheaper than maintaining the parent's indexes and foreign-key triggers row by row.
    ATTACH locks the parent only SHARE UPDATE EXCLUSIVE, so the versions being served stay
    readable throughout (PostgreSQL docs, "Partition Maintenance").
    """
    connection = session.connection()
    version = int(version_id)
    partition = f"{table}_v{version}"
    # The CHECK lets ATTACH skip its validation scan of the partition.
    connection.exec_driver_sql(
        f"CREATE TABLE {partition} (LIKE {table} INCLUDING DEFAULTS, "
        f"CONSTRAINT {partition}_version CHECK (feed_version_id = {version}))")
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {partition} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, FREEZE)"
    ) as copy:
        _write_csv_blocks(copy, rows)
    # ATTACH builds the partition's copies of the parent's indexes (the primary key too),
    # each by one sort over the loaded rows.
    connection.exec_driver_sql(
        f"ALTER TABLE {table} ATTACH PARTITION {partition} FOR VALUES IN ({version})")


def drop_orphan_partitions(connection: Connection) -> list[str]:
    """Drop the partitions of feed versions that no longer exist; return their names.

    Pruning a version deletes its rows (ON DELETE CASCADE) and leaves its partition empty.
    DROP TABLE locks the parent ACCESS EXCLUSIVE, so this runs on its own connection after the
    import has committed (``_drop_orphans_after_commit``), never inside the import.
    """
    dropped = []
    for table in PARTITIONED:
        orphans = connection.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(%(table)s AS regclass) AND NOT EXISTS ("
            "  SELECT 1 FROM feed_version v"
            "  WHERE c.relname = %(table)s || '_v' || v.id::text)", {"table": table}).scalars()
        for name in orphans:
            connection.exec_driver_sql(f'DROP TABLE "{name}"')
            dropped.append(name)
    return dropped


def _drop_orphans_after_commit(session: Session) -> None:
    engine = session.connection().engine

    def drop(_: Session) -> None:
        try:
            with engine.connect() as connection:
                # Never queue behind a long reader (that would stall the readers behind us);
                # what is left is dropped after the next import.
                connection.exec_driver_sql("SET lock_timeout = '500ms'")
                drop_orphan_partitions(connection)
                connection.commit()
        except sa.exc.DBAPIError:
            log.warning("Orphaned transit partitions are left for the next import.",
                        exc_info=True)

    event.listen(session, "after_commit", drop, once=True)


def _write_csv_blocks(copy: Any, rows: Iterable[tuple]) -> None:
    if isinstance(rows, _BatchRows):
        for block in rows.csv_blocks():
            copy.write(block)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = iter(rows)
    while True:
        writer.writerows(itertools.islice(rows, COPY_BLOCK_ROWS))
        block = buffer.getvalue()
        if not block:
            return
        copy.write(block)
        buffer.seek(0)
        buffer.truncate()


def copy_rows(session: Session, table: str, columns: tuple[str, ...],
              rows: Iterable[tuple], *, csv_text: bool = False) -> None:
    """PostgreSQL COPY of ``rows`` into ``table`` on the session's connection (same transaction).

    ``csv_text``: format the rows with the C ``csv`` writer and send them in large blocks
    (``COPY ... WITH (FORMAT csv)``) instead of psycopg's per-row ``write_row``. In that format
    an unquoted empty field is NULL, so only tables whose records never hold an empty string
    may use it (``CSV_SAFE``).
    """
    driver = session.connection().connection.driver_connection
    column_list = ", ".join(columns)
    options = " WITH (FORMAT csv)" if csv_text else ""
    with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({column_list}) FROM STDIN{options}") as copy:
        if not csv_text:
            for row in rows:
                copy.write_row(row)
            return
        _write_csv_blocks(copy, rows)


def insert_rows(session: Session, table: str, columns: tuple[str, ...],
                rows: Iterable[tuple], *, version_id: int | None = None) -> None:
    """``executemany`` over the iterator on the session's DB-API connection (SQLite path).

    Batched records (``_BatchRows``) go in per batch, each an ``executemany`` over a C-level
    ``zip`` of the batch's columns, with the version id (``version_id``, the first column) as
    a literal: no Python frame per row.
    """
    driver = session.connection().connection.driver_connection
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    cursor = driver.cursor()  # type: ignore[union-attr]
    restore = None
    try:
        if isinstance(rows, _BatchRows) and version_id is not None:
            # Each row lands at a random place of the departures index: a page cache bigger
            # than the default 2 MB saves re-reading its pages (about a tenth of the time).
            cache = restore = cursor.execute("PRAGMA cache_size").fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = {min(int(cache), -BULK_CACHE_KIB)}")
            literal = (f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                       f"VALUES ({int(version_id)}, {', '.join('?' for _ in columns[1:])})")
            for batch in rows.batches:
                if isinstance(batch, list):
                    rows.count[0] += len(batch)
                    cursor.executemany(literal, batch)
                else:
                    rows.count[0] += batch.num_rows
                    cursor.executemany(literal, zip(
                        *(column.to_pylist() for column in batch.columns), strict=True))
            return
        cursor.executemany(sql, rows)
    finally:
        if restore is not None:
            cursor.execute(f"PRAGMA cache_size = {int(restore)}")
        cursor.close()
