"""SQLite inserts many rows per statement: every row lands once, in order, at any count."""

from __future__ import annotations

import sqlite3

import pytest

from providers.transit.store import ROWS_PER_INSERT, _insert_many


def _table() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, version INTEGER, label TEXT, "
                       "blob BLOB)")
    return connection


def _rows(count: int) -> list[tuple]:
    return [(n, f"row {n}" if n % 3 else None, bytes([n % 256]) * (n % 5)) for n in range(count)]


@pytest.mark.parametrize("count", [0, 1, ROWS_PER_INSERT - 1, ROWS_PER_INSERT,
                                   ROWS_PER_INSERT + 1, 3 * ROWS_PER_INSERT + 17])
def test_every_row_is_inserted_once_in_order(count):
    connection = _table()
    _insert_many(connection.cursor(), "INSERT INTO t (n, version, label, blob) VALUES ",
                 "(?, 7, ?, ?)", 3, iter(_rows(count)))
    stored = connection.execute("SELECT n, label, blob FROM t ORDER BY rowid").fetchall()
    assert stored == _rows(count)
    assert connection.execute("SELECT count(*) FROM t WHERE version = 7").fetchone() == (count,)


def test_rows_per_statement_stay_within_sqlite_s_parameter_limit():
    connection = _table()
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 7)  # two rows of three values
    _insert_many(connection.cursor(), "INSERT INTO t (n, version, label, blob) VALUES ",
                 "(?, 7, ?, ?)", 3, iter(_rows(5)))
    assert connection.execute("SELECT n FROM t ORDER BY rowid").fetchall() == [
        (n,) for n in range(5)]


def test_rows_with_nothing_to_bind_are_inserted_one_by_one():
    connection = _table()
    _insert_many(connection.cursor(), "INSERT INTO t (version) VALUES ", "(7)", 0,
                 iter([()] * 3))
    assert connection.execute("SELECT count(*) FROM t").fetchone() == (3,)


def test_a_failing_row_fails_the_insert():
    connection = _table()
    rows = [*_rows(ROWS_PER_INSERT + 5), (3, "again", b"")]  # n = 3 twice: the key is unique
    with pytest.raises(sqlite3.IntegrityError):
        _insert_many(connection.cursor(), "INSERT INTO t (n, version, label, blob) VALUES ",
                     "(?, 7, ?, ?)", 3, iter(rows))
