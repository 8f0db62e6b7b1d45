"""An aiosqlite-compatible SQLite connection that runs statements on the event loop's own thread.

Why: aiosqlite sends every call (cursor, execute, fetchall, close, commit) to a worker thread and back.
Each of those round trips costs about 0.1 ms here, while a statement on an indexed table costs SQLite a
few microseconds, so a transaction of ten statements spent most of its time travelling between
threads (issue 2's benchmark: 8 hops before any work). This class keeps aiosqlite's interface, which
SQLAlchemy's ``sqlite+aiosqlite`` dialect drives through ``async_creator``, and runs a call on the loop
unless it can wait:

- ``COMMIT`` of a write transaction (begun ``IMMEDIATE``, or one that changed something) waits for the
  disk (``synchronous=FULL``: an fsync), so it runs on a worker thread and the loop serves other members
  meanwhile. A read-only transaction's ``COMMIT`` writes nothing and runs inline.
- ``BEGIN IMMEDIATE`` may wait for another process's write lock. It is tried inline without waiting;
  only when the lock is taken does it wait on a worker thread, up to the busy timeout. (This process's
  own writers queue in ``storage.group_commit`` before they get here.)
- Everything else runs inline: a deferred ``BEGIN`` takes no lock, a WAL reader never waits for a
  writer, a statement inside a write transaction already holds the lock, and in WAL mode a
  ``ROLLBACK`` discards pages without syncing. So they cost what SQLite's page cache costs.

A connection is used by one coroutine at a time (SQLAlchemy's pool hands it out), so inline calls and
worker-thread calls never overlap; ``check_same_thread=False`` allows the hand-over.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# One small pool for every connection's waits: a wait is a syscall, not Python work, so a few threads
# are enough, and a pool bounds them however many connections the engine opens.
_WAITS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlite-wait")


# The statements that may wait (for another process's write lock, for the disk); everything else runs inline.
_LOCKING_BEGINS = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
_COMMITS = ("COMMIT", "END")


def _verb(operation: str) -> str:
    return operation.lstrip()[:16].upper()


class InlineCursor:
    """aiosqlite's ``Cursor`` interface over a sqlite3 cursor."""

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @staticmethod
    def runs_inline(operation: str) -> bool:
        """Whether ``operation`` runs at once on the loop; ``BEGIN IMMEDIATE`` and ``COMMIT`` may wait."""
        return not _verb(operation).startswith(_LOCKING_BEGINS + _COMMITS)

    def execute_inline(self, operation: str, parameters: Any = None) -> None:
        """Run a statement that ``runs_inline``, now."""
        self._cursor.execute(operation, () if parameters is None else parameters)
        if _verb(operation).startswith("BEGIN"):  # deferred: takes no lock until it reads, and a read never waits
            self._connection.mark_begin()

    def executemany_inline(self, operation: str, seq_of_parameters: Iterable[Any]) -> None:
        self._cursor.executemany(operation, seq_of_parameters)

    def fetchall_inline(self) -> list[Any]:
        return self._cursor.fetchall()

    def close_inline(self) -> None:
        self._cursor.close()

    async def execute(self, operation: str, parameters: Any = None) -> InlineCursor:
        verb = _verb(operation)
        if verb.startswith(_LOCKING_BEGINS):
            await self._connection.begin_write(operation)
        elif verb.startswith(_COMMITS):
            await self._connection.commit()
        else:
            self.execute_inline(operation, parameters)
        return self

    async def executemany(self, operation: str, seq_of_parameters: Iterable[Any]) -> InlineCursor:
        self.executemany_inline(operation, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def nextset(self) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorContext:
    """What ``InlineConnection.cursor()`` returns: awaitable and an async context manager, like
    aiosqlite's, because SQLAlchemy enters it with ``__aenter__``."""

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Any:
        async def ready() -> InlineCursor:
            return self._cursor
        return ready().__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class _InlineQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's adapter uses directly to set
    ``isolation_level``: the call runs at once and its future is resolved."""

    def put_nowait(self, request: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = request
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """aiosqlite's ``Connection`` interface over a sqlite3 connection (see the module docstring)."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout_ms: int) -> None:
        self._conn = connection
        self._busy_timeout_ms = busy_timeout_ms
        self._changes_at_begin = connection.total_changes
        self._writing = False
        self._connection: sqlite3.Connection | None = connection  # SQLAlchemy checks it before commit
        self._tx = _InlineQueue()

    async def off_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(_WAITS, function, *args)

    def cursor(self) -> _CursorContext:
        return _CursorContext(self.new_cursor())

    def new_cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.new_cursor().execute(operation, parameters)

    async def begin_write(self, operation: str) -> None:
        """Take the write lock: at once when it is free (the usual case, since this process's writers
        queue before they get here), else wait for it off the loop, up to the busy timeout."""
        self._conn.execute("PRAGMA busy_timeout=0")
        try:
            try:
                self._conn.execute(operation)
            finally:
                self._conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            await self.off_loop(self._conn.execute, operation)
        self.mark_begin(writing=True)

    def begin_read(self) -> None:
        """``BEGIN DEFERRED``: takes no lock until the first read, and a WAL read never waits."""
        self._conn.execute("BEGIN DEFERRED")
        self.mark_begin()

    def mark_begin(self, *, writing: bool = False) -> None:
        self._writing = writing
        self._changes_at_begin = self._conn.total_changes

    async def commit(self) -> None:
        """A write transaction waits for the disk off the loop; a read-only one ends inline."""
        if self._writing and not self._conn.in_transaction:
            # SQLite rolled the whole transaction back itself (it does on a full disk or an I/O error),
            # and sqlite3's commit() would now succeed doing nothing: every writer that shared this
            # transaction must learn that nothing was saved.
            self._writing = False
            raise sqlite3.OperationalError("the write transaction was rolled back before its commit; "
                                           "nothing was saved")
        if self._writing or self._conn.total_changes != self._changes_at_begin:
            await self.off_loop(self._conn.commit)
        else:
            self._conn.commit()
        self._writing = False

    async def rollback(self) -> None:
        self.rollback_inline()

    def rollback_inline(self) -> None:
        # In WAL mode a rollback discards pages without syncing anything, so it does not wait.
        self._conn.rollback()
        self._writing = False

    def execute_inline(self, operation: str) -> None:
        """A statement without result inside the current transaction (a savepoint, say), now."""
        self._conn.execute(operation)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            # Off the loop: the last connection to close checkpoints the WAL into the database file.
            await self.off_loop(self._conn.close)

    def stop(self) -> None:
        """Close now: how SQLAlchemy terminates a connection it finds unreturned (garbage collection)."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


async def connect(database: str, *, busy_timeout_ms: int) -> InlineConnection:
    """Open ``database`` off the loop (opening may recover a WAL file) with no driver-managed
    transactions: the dialect's ``do_begin`` issues ``BEGIN`` itself (storage/sqlite_dialect.py)."""

    def open_() -> sqlite3.Connection:
        return sqlite3.connect(database, timeout=busy_timeout_ms / 1000, isolation_level=None,
                               check_same_thread=False, uri=database.startswith("file:"))

    loop = asyncio.get_running_loop()
    return InlineConnection(await loop.run_in_executor(_WAITS, open_), busy_timeout_ms)
