"""Inter-process locks and the SQLite opener every on-disk cache shares."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) across processes.

    POSIX ``flock``; elsewhere a no-op, so callers must stay correct without it (atomic renames,
    retries) and use the lock only to avoid wasted work or races that they also retry.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_sqlite(
    path: Path, schema: str, *, timeout: float, autocommit: bool = False, pragmas: tuple[str, ...] = ()
) -> sqlite3.Connection:
    """Open (creating if needed) a WAL-mode SQLite file that several processes share.

    Switching a database to WAL and creating its tables take locks for which SQLite may answer
    "database is locked" at once, without waiting ``timeout``, when two processes open the same
    new file together (a sweep's workers starting at the same moment). The set-up therefore runs
    under an inter-process file lock beside the database and is retried until ``timeout``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
    if autocommit:
        db.isolation_level = None
    deadline = time.monotonic() + timeout
    delay = 0.01
    with file_lock(path.with_name(path.name + ".lock")):
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                for pragma in pragmas:
                    db.execute(f"PRAGMA {pragma}")
                db.executescript(schema)
                return db
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    db.close()
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
