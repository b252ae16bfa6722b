"""SQLite checkpoints (app.wal): never inside a commit, done by the checkpointer's thread."""

import contextlib
import gc
import os
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from app.db import create_db_engine
from app.wal import WalCheckpointer


def _engine_with_rows(path: Path, rows: int, checkpointer: WalCheckpointer) -> sa.Engine:
    """A file-backed SQLite engine (as the app makes it) and a commit of ``rows`` wide rows."""
    engine = create_db_engine(f"sqlite:///{path}", checkpointer=checkpointer)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE wide (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO wide (body) SELECT printf('%.2000c', 'x') FROM json_each(?)",
            ("[" + ",".join(["0"] * rows) + "]",))
    return engine


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_app_sqlite_connections_leave_checkpoints_to_the_checkpointer(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    engine.dispose()


def test_a_big_commit_returns_with_its_log_unchecked_and_the_thread_copies_it_back(tmp_path):
    path = tmp_path / "hub.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=3600)  # turns only when told to, below
    engine = _engine_with_rows(path, 4000, checkpointer)  # 8 MB: twice SQLite's threshold
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 2 * 4096 * 1000
    database_size = path.stat().st_size
    assert database_size < 1024 * 1024  # the rows are still only in the log

    assert checkpointer.checkpoint_due() == [str(path)]
    assert path.stat().st_size > 8_000_000  # copied into the database file
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM wide").scalar() == 4000
    assert checkpointer.checkpoint_due() == []  # nothing written since: nothing to do
    engine.dispose()


def test_the_checkpointer_thread_checkpoints_a_registered_database_on_its_own(tmp_path):
    path = tmp_path / "hub.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=0.02)
    engine = _engine_with_rows(path, 3000, checkpointer)
    assert _wait_for(lambda: path.stat().st_size > 6_000_000)
    engine.dispose()


def test_a_small_log_is_left_for_later(tmp_path):
    path = tmp_path / "hub.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=3600)
    engine = _engine_with_rows(path, 10, checkpointer)
    assert checkpointer.checkpoint_due() == []
    engine.dispose()


def test_a_database_whose_engines_are_gone_is_forgotten_and_the_thread_ends(tmp_path):
    path = tmp_path / "hub.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=0.02)
    engine = _engine_with_rows(path, 10, checkpointer)
    assert checkpointer.running
    engine.dispose()
    del engine
    gc.collect()
    assert _wait_for(lambda: not checkpointer.running)
    assert checkpointer.checkpoint_due() == []


def test_a_database_not_created_yet_stays_registered(tmp_path):
    path = tmp_path / "later.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=3600)
    engine = create_db_engine(f"sqlite:///{path}", checkpointer=checkpointer)
    assert not os.path.exists(path)
    assert checkpointer.checkpoint_due() == []
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE wide (id INTEGER PRIMARY KEY, body TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO wide (body) SELECT printf('%.2000c', 'x') FROM json_each(?)",
            ("[" + ",".join(["0"] * 3000) + "]",))
    assert checkpointer.checkpoint_due() == [str(path)]
    engine.dispose()


def test_at_exit_a_due_log_is_checkpointed_even_when_its_engines_are_gone(tmp_path):
    path = tmp_path / "hub.sqlite3"
    checkpointer = WalCheckpointer(poll_seconds=3600)
    engine = _engine_with_rows(path, 3000, checkpointer)
    # Another process keeps the database open (else the last close would checkpoint it).
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("SELECT count(*) FROM wide").fetchone()
        engine.dispose()
        del engine
        gc.collect()
        assert checkpointer.checkpoint_due(at_exit=True) == [str(path)]
        assert path.stat().st_size > 6_000_000
