"""SQLite write-ahead-log checkpoints in a background thread, as PostgreSQL's checkpointer does.

Left to itself, SQLite checkpoints inside whichever commit pushes the log past 1,000 pages:
that commit waits while the log is copied into the database file and synced (about 70 ms after
a GTFS import of NYC's subway; and if the import's own commit does not cross the line, the next
API request's does). The SQLite documentation ("Write-Ahead Logging", section "Automatic
Checkpoint") suggests turning the automatic checkpoint off and running checkpoints "in a
separate thread or process". Our connections are opened with ``wal_autocheckpoint=0``
(``app.db``), and one daemon thread per process checkpoints each registered database in
PASSIVE mode (it never waits for, or blocks, a reader or a writer) whenever its log has
changed and holds more than ``CHECKPOINT_BYTES``, looking every ``POLL_SECONDS``. At exit, a
last checkpoint, so a short-lived process (``mobihub feeds import``) leaves no big log behind.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

# SQLite's own automatic checkpoint threshold: 1,000 pages of 4 KiB.
CHECKPOINT_BYTES = 1000 * 4096
POLL_SECONDS = 0.5

log = logging.getLogger(__name__)


class WalCheckpointer:
    """Checkpoints the registered SQLite databases of this process from one daemon thread."""

    def __init__(self, poll_seconds: float = POLL_SECONDS,
                 threshold: int = CHECKPOINT_BYTES) -> None:
        self.poll_seconds = poll_seconds
        self.threshold = threshold
        self._lock = threading.Lock()
        # database path -> (engines using it, weakly; the log's (size, mtime) last checkpointed)
        self._databases: dict[str, tuple[weakref.WeakSet[Any], tuple[int, int] | None]] = {}
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def register(self, engine: Any, path: str) -> None:
        """Checkpoint ``path`` while ``engine`` (or another engine registered for it) lives."""
        path = os.path.abspath(path)
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._pid, self._thread = os.getpid(), None
            engines, seen = self._databases.get(path, (weakref.WeakSet(), None))
            engines.add(engine)
            self._databases[path] = (engines, seen)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                                daemon=True)
                self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the thread is running (it ends once no registered engine is left)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def checkpoint_due(self, *, at_exit: bool = False) -> list[str]:
        """Checkpoint every database whose log is due now; return their paths.

        ``at_exit``: also those whose engines are gone already (the process is ending).
        """
        with self._lock:
            databases = list(self._databases.items())
        done = []
        for path, (engines, seen) in databases:
            if not engines and not at_exit:  # every engine using it is gone
                with self._lock:
                    if not self._databases.get(path, (engines,))[0]:
                        self._databases.pop(path, None)
                continue
            state = _log_state(path)
            if state is None or state == seen or state[0] <= self.threshold:
                continue
            if checkpoint(path):
                done.append(path)
                with self._lock:
                    if path in self._databases:
                        self._databases[path] = (engines, _log_state(path))
        return done

    def _run(self) -> None:
        while True:
            time.sleep(self.poll_seconds)
            try:
                self.checkpoint_due()
            except Exception:  # never let the thread die: the next turn tries again
                log.exception("SQLite checkpoint failed")
            with self._lock:
                if not self._databases:
                    self._thread = None
                    return


def checkpoint(path: str) -> bool:
    """One PASSIVE checkpoint of ``path`` on a connection of its own; True when it ran."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=0)) as connection:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error as exc:
        log.warning("SQLite checkpoint of %s did not run: %s", path, exc)
        return False
    return not busy


def _log_state(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(f"{path}-wal")
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


checkpointer = WalCheckpointer()
atexit.register(checkpointer.checkpoint_due, at_exit=True)
