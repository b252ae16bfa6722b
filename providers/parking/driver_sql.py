"""A Core select run straight on the DBAPI cursor: the parking reads' one statement per request.

A near search or a zone lookup at a point is one small statement (a few rows by id, with the
data token); SQLAlchemy's own execution of it (execution context, result metadata from
``cursor.description``, which psycopg builds anew on every call) costs about as much CPU as
the database takes to answer. ``DriverStatement`` compiles the statement once per dialect,
sends the compiled text and parameters on the connection's DBAPI cursor and applies the
result processors SQLAlchemy would (``Boolean`` on SQLite, ``JSON`` text where the driver does
not decode it), so the rows are the same values ``Connection.execute`` gives, as named
tuples. Errors are raised as SQLAlchemy's ``DBAPIError`` with the pooled connection
invalidated on a disconnect, as ``Connection.execute`` does, so ``app.db.run_read_only`` still
retries once on a dead connection.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa


class DriverStatement:
    """One compiled form of a Core select per dialect; ``rows()`` runs it on a connection."""

    def __init__(self, statement: sa.Select, name: str, placeholders: Mapping[str, Any]) -> None:
        # placeholders: a value of each bound parameter without one, to expand the statement
        self._statement, self._placeholders = statement, dict(placeholders)
        self._row = namedtuple(name, list(statement.selected_columns.keys()))  # type: ignore[misc]
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, connection: sa.Connection, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for these parameter values, as named tuples."""
        dialect = connection.dialect
        compiled = self._compiled.get((dialect.name, dialect.driver))
        if compiled is None:
            with self._lock:
                compiled = self._compiled.setdefault((dialect.name, dialect.driver),
                                                     _Compiled(self._statement, dialect,
                                                               self._placeholders))
        parameters = compiled.parameters(values)
        pooled = connection.connection  # the pool's proxy of the DBAPI connection
        cursor = pooled.cursor()
        try:
            cursor.execute(compiled.sql, parameters)
            raw = cursor.fetchall()
            processors = compiled.processors(cursor)
        except dialect.loaded_dbapi.Error as error:
            disconnected = dialect.is_disconnect(error, pooled.dbapi_connection, cursor)
            if disconnected:
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(
                compiled.sql, parameters, error, dialect.loaded_dbapi.Error,
                connection_invalidated=disconnected, dialect=dialect) from error
        finally:
            cursor.close()
        make = self._row._make
        if not processors:
            return [make(row) for row in raw]
        rows = []
        for row in raw:
            values_ = list(row)
            for position, process in processors:
                values_[position] = process(values_[position])
            rows.append(make(values_))
        return rows


class _Compiled:
    # The statement's text and parameters for one dialect, and its columns' result processors
    # (read from the first cursor's description: psycopg's depend on the column's type oid).

    def __init__(self, statement: sa.Select, dialect: Any, placeholders: dict[str, Any]
                 ) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled._bind_processors:  # bound values would need converting: not supported
            raise ValueError("DriverStatement takes statements without bind processors")
        expanded = compiled.construct_expanded_state(placeholders)
        self.sql = expanded.statement
        self._template = dict(expanded.parameters)
        self._order = tuple(expanded.positiontup) if expanded.positiontup else None
        self._types = [column.type for column in statement.selected_columns]
        self._dialect = dialect
        self._processors: list[tuple[int, Callable[[Any], Any]]] | None = None

    def parameters(self, values: Mapping[str, Any]) -> Any:
        merged = {**self._template, **values}
        return tuple(merged[name] for name in self._order) if self._order else merged

    def processors(self, cursor: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        if self._processors is None:
            found = []
            for position, (type_, described) in enumerate(zip(self._types, cursor.description,
                                                              strict=True)):
                process = type_.dialect_impl(self._dialect).result_processor(self._dialect,
                                                                             described[1])
                if process is not None:
                    found.append((position, process))
            self._processors = found
        return self._processors
