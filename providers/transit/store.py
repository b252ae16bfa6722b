"""Store a transit feed version's records in the canonical tables, streaming.

The small tables are loaded as they are: on PostgreSQL with ``COPY … FROM STDIN`` through the
session's own psycopg connection (so it runs inside the import's transaction and rolls back
with it); on SQLite with multi-row ``INSERT``s in the same transaction. stop_times and shapes are
not stored row for row: a worker thread parses them (through the adapter's lazy batches),
collects them as compact numpy columns (never a Python object per row; about 35 bytes per
stop time) and packs them (``providers.transit.timetable``) into stop patterns, pattern stops
with their sorted departures, and one row per shape, while this thread writes the other
tables. HART's 438,421 stop times and 45,835 shape points become 4,227 + 124 + 215 rows.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from providers.base import ImportResult
from providers.models import Feed, FeedVersion
from providers.transit import pgcopy
from providers.transit.records import RECORD_TABLES, WRITE_ORDER
from providers.transit.timetable import ShapeBuilder, TimetableBuilder
from providers.transit.trips import TRIP_SCHEMA, pack_trips

COPY_BLOCK_ROWS = 10_000


# Tables only ever read by their primary key (or a prefix of it): statistics change no plan.
KEY_LOOKUP_ONLY = frozenset({"transit_agency", "transit_feed_info", "transit_transfer",
                             "transit_pattern", "transit_shape", "transit_trip_block"})
# Of the big tables, the columns queries filter or join on (``providers.transit.queries``,
# ``timetable``): the only statistics a plan uses. Skipping the others (texts and numbers
# nothing filters on; the packed arrays have none, migration 0008) makes their ANALYZE a third
# to a half cheaper (NYC: pattern stops 13-19 -> 9-13 ms, trips 11-17 -> 5-8 ms).
ANALYZED_COLUMNS = {
    "transit_pattern_stop": ("feed_version_id", "stop_id", "pattern_id"),
}


class TransitFeedWriter:
    """Writes GTFS-shaped records (``providers.transit.records``) under one feed version."""

    def write(self, session: Session, feed: Feed, version: FeedVersion | None,
              result: ImportResult, context: Any) -> dict[str, int]:
        """Store every record type; return the rows read, keyed by GTFS file name."""
        if version is None:
            raise ValueError("the static transit writer needs a feed version")
        with _collection_paused(), _heap_kept():
            return self._write(session, version, result)

    def _write(self, session: Session, version: FeedVersion, result: ImportResult
               ) -> dict[str, int]:
        records = result.records
        dialect = session.connection().dialect.name
        counts: dict[str, int] = {}
        written: list[str] = []
        trips = _trip_table(_batches_of(records.get("trips", [])))
        # stop_times and shapes are parsed and packed by a worker while this thread writes the
        # other tables (trips included: nothing in them depends on stop_times). The parse
        # spends much of its time in Arrow, zlib and numpy, outside the GIL, so the writes
        # overlap it where a core is free. Its problems land in the report in the same order
        # as before: nothing else reports while it runs.
        stop_times_read = threading.Event()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="transit-pack") as pool:
            packing = pool.submit(_pack, trips.column("trip_id").to_pylist(),
                                  records.get("stop_times"), stop_times_read)
            try:
                for name in [*WRITE_ORDER, *(k for k in records if k not in WRITE_ORDER)]:
                    if name not in records or name not in RECORD_TABLES:
                        continue
                    table = RECORD_TABLES[name][0]
                    if name == "trips":
                        counts[name] = _store_trips(session, version.id, trips)
                    else:
                        counts[name] = _store_records(session, version.id, name, records[name],
                                                      dialect)
                    written.append(table)
                # Their statistics (see _analyze) once the worker has read stop_times: while
                # it reads, its two threads keep both cores busy; while it then groups the
                # patterns (one thread), a core is free for the server's ANALYZE.
                stop_times_read.wait()
                _analyze(session, written)
            except BaseException:
                # The worker must not outlive the failed write; its own error (if any) is
                # secondary to the one raised here.
                with contextlib.suppress(Exception):
                    packing.result()
                raise
            pattern_stops, rest, stop_time_count = packing.result()
            # The worker makes the patterns and reads the shapes while the pattern stops
            # (a few MB of packed arrays) are stored here.
            finishing = pool.submit(_finish_pack, rest, records.get("shapes"))
            try:
                if "stop_times" in records:
                    store_table(session, "transit_pattern_stop", pattern_stops, version.id)
                    # The only one of the packed tables a query filters (the others are
                    # read by key): its statistics while the worker is still busy.
                    _analyze(session, ["transit_pattern_stop"])
            except BaseException:
                with contextlib.suppress(Exception):
                    finishing.result()
                raise
            patterns, shapes, shape_count = finishing.result()
        if "stop_times" in records:
            store_table(session, "transit_pattern", patterns, version.id)
            counts["stop_times"] = stop_time_count
        if "shapes" in records:
            store_table(session, "transit_shape", shapes, version.id)
            counts["shapes"] = shape_count
        service_range = result.meta.get("service_range")
        if service_range:
            version.service_start, version.service_end = service_range
        order = [*WRITE_ORDER, *records]
        return {name: counts[name] for name in sorted(counts, key=order.index)}


def _analyze(session: Session, tables: list[str]) -> None:
    """PostgreSQL: fresh statistics for freshly loaded tables.

    Without them the planner guesses until autovacuum catches up (PostgreSQL docs,
    "ANALYZE"); small tables count too: a stale row estimate on transit_route once made the
    planner run a whole departures query once per route. A sample of 3,000 rows (statistics
    target 10, for this ANALYZE only) is plenty for the queries, all index lookups by version
    and id; the default 30,000 cost HART's import a tenth of a second on transit_trip alone.
    Tables only read by primary key are skipped.
    """
    analyzed = [table for table in dict.fromkeys(tables) if table not in KEY_LOOKUP_ONLY]
    connection = session.connection()
    if connection.dialect.name != "postgresql" or not analyzed:
        return
    with _setting(connection, "default_statistics_target", "10"):
        connection.exec_driver_sql("ANALYZE " + ", ".join(
            f"{table} ({', '.join(ANALYZED_COLUMNS[table])})" if table in ANALYZED_COLUMNS
            else table for table in analyzed))


@contextlib.contextmanager
def _setting(connection: Any, name: str, value: str) -> Iterator[None]:
    """PostgreSQL: a setting changed for the block, then put back.

    Not ``SET LOCAL``: inside a caller's transaction that would outlive the import. Not put
    back when the block fails: its transaction is aborted then (no statement runs until the
    rollback), and the rollback undoes the change (PostgreSQL docs, "SET").
    """
    previous = connection.exec_driver_sql(f"SHOW {name}").scalar()
    connection.exec_driver_sql("SELECT set_config(%(name)s, %(value)s, false)",
                               {"name": name, "value": value})
    yield
    connection.exec_driver_sql("SELECT set_config(%(name)s, %(value)s, false)",
                               {"name": name, "value": previous})


# The most memory a COPY's key check may keep its rows in (see _room_for_new_rows).
NEW_ROWS_MEMORY_LIMIT_KB = 256 * 1024


@contextlib.contextmanager
def _room_for_new_rows(connection: Any, table: Any) -> Iterator[None]:
    """PostgreSQL: enough ``work_mem`` for a COPY's new rows to stay in memory.

    The statement-level check of the rows' feed version (``feed_version_key_check``, migration
    0010) reads them from a transition table, which PostgreSQL keeps in a tuplestore of at
    most ``work_mem`` and spills to a temporary file past it. NYC's pattern stops (3.7 MB)
    passed the default 4 MB that way: one 3.8 MB file written and read back per import, a
    fifth of their COPY's server time (34.5 -> 27.4 ms, 40 rounds). Only raised, never
    lowered, and bounded by ``NEW_ROWS_MEMORY_LIMIT_KB``.
    """
    wanted = min(NEW_ROWS_MEMORY_LIMIT_KB, table.nbytes * 3 // 2 // 1024 + 1024)
    # Not the pg_settings view: it lists every setting to find one (0.3 ms against 0.02).
    current = int(connection.exec_driver_sql(
        "SELECT pg_size_bytes(current_setting('work_mem')) / 1024").scalar())
    if wanted <= current:
        yield
        return
    with _setting(connection, "work_mem", f"{wanted}kB"):
        yield


def _pack(trip_ids: list[str], stop_times: Any, read: threading.Event | None = None
          ) -> tuple[Any, Any, int]:
    """Parse (through the adapter's lazy batches) and pack stop_times.

    Returns (the pattern stops, the function that makes the patterns, stop_times rows read).
    ``read`` is set once stop_times is read (or its reading failed), before the packing.
    """
    builder = TimetableBuilder(trip_ids)
    try:
        for batch in _batches_iter(stop_times or []):
            builder.add(batch)
    finally:
        if read is not None:
            read.set()
    pattern_stops, patterns = builder.build_in_two()
    return pattern_stops, patterns, builder.count


def _finish_pack(patterns: Any, shapes: Any) -> tuple[Any, Any, int]:
    """The patterns, then the shapes parsed and packed: (patterns, shapes, points read).

    The shapes are parsed only after stop_times, so their problems follow stop_times' in the
    report as they always have.
    """
    pattern_table = patterns()
    shape_builder = ShapeBuilder()
    for batch in _batches_iter(shapes or []):
        shape_builder.add(batch)
    return pattern_table, shape_builder.build(), shape_builder.count


def _store_records(session: Session, version_id: int, name: str, records: Any, dialect: str
                   ) -> int:
    """Store one small record type as it comes; return its rows."""
    table, columns = RECORD_TABLES[name]
    count = [0]
    batches = getattr(records, "batches", None)
    if batches is not None:  # Arrow tables and lists of tuples
        rows: Iterable[tuple] = _BatchRows(version_id, batches(), count)
    else:
        rows = _versioned(version_id, records, count)
    if dialect == "postgresql":
        copy_rows(session, table, ("feed_version_id", *columns), rows)
    else:
        insert_rows(session, table, ("feed_version_id", *columns), rows, version_id=version_id)
    return count[0]


def _store_trips(session: Session, version_id: int, trips: Any) -> int:
    """The trips, packed in blocks (``providers.transit.trips``)."""
    store_table(session, "transit_trip_block", pack_trips(trips), version_id)
    return trips.num_rows


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a version is written.

    The import allocates containers by the ten thousand (parsed rows, Arrow wrappers), and each
    generation-2 collection they trigger walks every object of the process (in a web worker,
    the whole app), about a tenth of the import's time on HART; nothing it creates is cyclic
    garbage. Reference counting still frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# glibc's mallopt parameters and defaults (malloc.h): above M_MMAP_THRESHOLD an allocation is
# a mapping of its own, and free memory above M_TRIM_THRESHOLD at the heap's top goes back
# to the kernel. 32 MiB is the largest mmap threshold glibc takes on 64-bit.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024
_HEAP_KEPT_MMAP_THRESHOLD = 32 * 1024 * 1024
_HEAP_KEPT_TRIM_THRESHOLD = 1024 * 1024 * 1024
_heap_lock = threading.Lock()
_heap_users = 0


@contextlib.contextmanager
def _heap_kept(libc: Any = None) -> Iterator[None]:
    """glibc: freed memory kept for reuse while a version is written, given back after.

    The import allocates and frees blocks of a few MB by the hundred (inflated text, numpy
    columns). By default glibc maps each big one afresh and unmaps it when freed, or trims the
    heap under it, so the next one faults in zeroed pages again: on NYC subway a quarter of
    the import's CPU time was the kernel's (33,000 page faults). Kept, they are reused: 22,000
    faults, and about 50 ms less CPU (medians of 12 imports each). Setting only one of the two
    is worse than neither (it ends glibc's own adjustment of the other). Afterwards the
    defaults are back and the free memory is returned (``malloc_trim``, 2 ms). Imports
    running at once share one setting: the last to end restores the defaults. Other C
    libraries: nothing changes (``libc``: for tests).
    """
    global _heap_users
    libc = libc or _glibc()
    if libc is None:
        yield
        return
    with _heap_lock:
        _heap_users += 1
        if _heap_users == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_KEPT_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_KEPT_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _heap_lock:
            _heap_users -= 1
            if not _heap_users:
                libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.mallopt(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
                libc.malloc_trim(0)


@functools.cache
def _glibc() -> Any:
    """The C library when it is glibc (its ``mallopt`` and ``malloc_trim``), else None."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # no process-wide symbol lookup (Windows)
        return None
    if not hasattr(libc, "gnu_get_libc_version"):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def _trip_table(batches: list[Any]) -> Any:
    """The trips' batches (Arrow tables and lists of tuples) as one Arrow table."""
    tables = [batch if not isinstance(batch, list) else pa.Table.from_arrays(
        [pa.array(column, kind) for column, kind in zip(
            zip(*batch, strict=True), TRIP_SCHEMA.types, strict=True)], schema=TRIP_SCHEMA)
              for batch in batches if len(batch)]
    if not tables:
        return TRIP_SCHEMA.empty_table()
    return pa.concat_tables([t.cast(TRIP_SCHEMA) for t in tables])


def _batches_of(records: Any) -> list[Any]:
    """A record type's batches as a list (the trips: parsed eagerly)."""
    batches = getattr(records, "batches", None)
    if batches is not None:
        return list(batches())
    rows = list(records)
    return [rows] if rows else []


def _batches_iter(records: Any) -> Iterator[Any]:
    batches = getattr(records, "batches", None)
    if batches is not None:
        yield from batches()
        return
    rows = iter(records)
    while batch := list(itertools.islice(rows, COPY_BLOCK_ROWS)):
        yield batch


def store_table(session: Session, name: str, table: Any, version_id: int) -> None:
    """Store an Arrow table (columns named as ``name``'s) under a version, in one go.

    PostgreSQL: ``COPY`` in binary format, encoded column-wise by ``pgcopy`` (the packed
    arrays go as they are; numbers need no parsing: NYC's 15,911 trips took the server 5-10
    ms less than as CSV, for no more client time). SQLite: multi-row ``INSERT``s
    (``_insert_many``) over a C-level ``zip`` of the columns.
    """
    if not table.num_rows:
        return
    columns = ("feed_version_id", *table.column_names)
    if session.connection().dialect.name != "postgresql":
        _insert_table(session, name, table, version_id)
        return
    with _room_for_new_rows(session.connection(), table):
        body = pgcopy.copy_body(table, leading=version_id)
        driver = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                f"COPY {name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pgcopy.SIGNATURE)
            copy.write(body)
            copy.write(pgcopy.TRAILER)


def _insert_table(session: Session, name: str, table: Any, version_id: int) -> None:
    """SQLite: the table's rows by ``_insert_many``. A column with one value throughout
    (NULL, or a constant number such as ``frequency_based``) goes into the statement as a
    literal instead of a bound value.

    Measured on NYC's 15,911 trips (SQLite 3.40): one ``INSERT … SELECT json_extract(value,
    '$[i]') … FROM json_each(?)`` cost 119 ms in SQLite plus 28 ms of ``json.dumps`` (SQLite
    before 3.45 parses a row's JSON again for each field), against 69 ms for a row-per-step
    ``executemany``, and the whole NYC import took 26 ms less wall time and 105 ms less CPU
    with ``executemany``: rows go in as bound values, not as JSON.
    """
    import pyarrow.compute as pc

    values, varying = [str(int(version_id))], []
    for column in table.columns:
        if column.null_count == len(column):
            values.append("NULL")
            continue
        kind = column.type
        if not column.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
            low, high = pc.min_max(column).values()
            if low == high:
                values.append(str(int(low.as_py())))
                continue
        values.append("?")
        varying.append(column)
    columns = f"feed_version_id, {', '.join(table.column_names)}"
    driver = session.connection().connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        _insert_many(cursor, f"INSERT INTO {name} ({columns}) VALUES ",  # noqa: S608
                     f"({', '.join(values)})", len(varying),
                     zip(*(column.to_pylist() for column in varying), strict=True)
                     if varying else itertools.repeat((), table.num_rows))
    finally:
        cursor.close()


# Rows per INSERT statement on SQLite (fewer when the rows' bound values would pass SQLite's
# limit on a statement's parameters).
ROWS_PER_INSERT = 128


def _insert_many(cursor: Any, head: str, row: str, width: int, rows: Iterable[tuple]) -> None:
    """SQLite: ``head`` + ``row`` for each of ``rows`` (tuples of ``width`` bound values), many
    rows to a statement (``INSERT … VALUES (…), (…), …``).

    The sqlite3 module lets go of the GIL for every statement step and must take it back after:
    with a step per row, 16k trips meant 16k hand-overs with the thread parsing stop_times,
    each a wait for that thread to let go (NYC's trips took 230 ms of wall time beside it, 93
    ms alone). A step per 128 rows makes them 125, and costs a third less CPU than a row per
    step (binding is the same; SQLite runs one statement per 128 rows).
    """
    rows = iter(rows)
    if not width:  # nothing bound: one statement per row
        cursor.executemany(head + row, rows)
        return
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(ROWS_PER_INSERT, limit // width))
    chain, islice = itertools.chain.from_iterable, itertools.islice
    rest: list[tuple] = []

    def full_groups() -> Iterator[tuple]:
        while True:
            group = tuple(chain(islice(rows, per)))
            if len(group) < per * width:
                rest.append(group)
                return
            yield group

    cursor.executemany(head + ", ".join([row] * per), full_groups())
    if rest and rest[0]:
        cursor.execute(head + ", ".join([row] * (len(rest[0]) // width)), rest[0])


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
    """Batched records (Arrow tables or lists of tuples) as tuples with the version id in
    front, counted in ``count[0]``."""

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


def copy_rows(session: Session, table: str, columns: tuple[str, ...],
              rows: Iterable[tuple]) -> None:
    """PostgreSQL COPY of ``rows`` into ``table`` on the session's connection (same transaction),
    a row at a time by psycopg (the small tables; ``store_table`` sends the big ones whole)."""
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(session: Session, table: str, columns: tuple[str, ...],
                rows: Iterable[tuple], *, version_id: int | None = None) -> None:
    """The rows by ``_insert_many`` on the session's DB-API connection (SQLite path).

    Batched records (``_BatchRows``) go in per batch, over a C-level ``zip`` of the batch's
    columns, with the version id (``version_id``, the first column) as a literal.
    """
    driver = session.connection().connection.driver_connection
    head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        if isinstance(rows, _BatchRows) and version_id is not None:
            literal = f"({int(version_id)}, {', '.join('?' for _ in columns[1:])})"
            for batch in rows.batches:
                if isinstance(batch, list):
                    rows.count[0] += len(batch)
                    _insert_many(cursor, head, literal, len(columns) - 1, batch)
                else:
                    rows.count[0] += batch.num_rows
                    _insert_many(cursor, head, literal, len(columns) - 1, zip(
                        *(column.to_pylist() for column in batch.columns), strict=True))
            return
        _insert_many(cursor, head, f"({', '.join('?' for _ in columns)})", len(columns), rows)
    finally:
        cursor.close()
