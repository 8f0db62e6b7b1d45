"""Engines and transactions: ``Database.write()`` and ``Database.read()``, on SQLite or PostgreSQL.

SQLite (the default) runs on stock ``sqlite+aiosqlite``: every statement runs on aiosqlite's own
thread, never on the event loop's. Transactions follow SQLAlchemy's documented recipe for pysqlite and
aiosqlite ("Serializable isolation / Savepoints / Transactional DDL"): the driver's own transaction
handling is switched off, and a ``begin`` event emits the ``BEGIN`` we want.

- A write begins ``BEGIN IMMEDIATE``: it takes SQLite's one write lock before it reads, so two
  read-then-write transactions cannot lose an update. Writers of this process queue on an
  ``asyncio.Lock`` before asking SQLite (SQLite's own busy handler is a sleep loop on a thread, which
  cannot be cancelled and made stock aiosqlite fail with "database is locked" under load). Another
  process's lock is waited for in short busy waits with the event loop free in between, so a cancelled
  writer lets go at once.
- A write commits when its block ends, with ``synchronous=FULL``: when ``write()`` returns, the change
  is on disk. If SQLite rolls a transaction back by itself (an I/O error, a full disk, a trigger's
  ``RAISE(ROLLBACK)``), every later statement of that block is refused instead of running in SQLite's
  autocommit mode, and the block fails: a writer is never told "failed" for work that is on disk.
- A read begins a deferred ``BEGIN`` on connections of its own with ``query_only``: in WAL mode it never
  waits for a writer, and a write attempted inside it fails loudly instead of vanishing.

PostgreSQL runs on asyncpg with a pool, one transaction per ``write()``.

``write()`` inside ``write()`` in the same task is refused on both databases (on SQLite it would wait for
its own lock forever): pass the session down instead. The guard compares tasks, so it cannot see a
``write()`` started in a child task the open write then waits for (``asyncio.wait_for``, ``gather``,
``create_task`` + ``await``): on SQLite that one waits for the open write's lock forever, a deadlock, not a
``NestedWrite``. Do not wait for a writing child task inside ``write()``.

A write's commit runs to its end even if the writer is cancelled meanwhile (the connection is never
closed under a running commit). A writer cancelled during its commit gets ``CancelledAfterCommit`` (a
``CancelledError``) when the commit landed; any other ``CancelledError`` out of ``write()`` means nothing of
the write was saved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# How long a write waits for another process's write lock before it gives up.
SQLITE_LOCK_WAIT_SECONDS = 10.0
# SQLite's busy handler sleeps on aiosqlite's thread, where a cancellation cannot reach it: keep each
# such wait short and wait the rest with the event loop (between attempts) instead.
SQLITE_BUSY_TIMEOUT_MS = 50
# Reads wait for a lock only in rare cases (a WAL file being recovered), where waiting is right.
SQLITE_READ_BUSY_TIMEOUT_MS = 10_000
# Migrations run on their own engine and event loop (Alembic, in a worker thread) without write()'s retry
# loop: SQLite's busy handler waits for another process's lock the whole time instead.
SQLITE_MIGRATION_BUSY_TIMEOUT_MS = int(SQLITE_LOCK_WAIT_SECONDS * 1000)
SQLITE_BUSY = 5


class NestedWrite(RuntimeError):
    """``Database.write()`` was entered again inside the same task's ``write()``."""


class TransactionLost(RuntimeError):
    """SQLite rolled the write's transaction back by itself (I/O error, full disk, RAISE(ROLLBACK))."""


# Services name the session type in their signatures; they import it from here, so that nothing but
# storage/ imports SQLAlchemy (a layer contract in pyproject.toml).
__all__ = ["AsyncSession", "Database", "NestedWrite", "TransactionLost", "create_engine", "is_sqlite", "safe_url"]


def _transaction_lost() -> TransactionLost:
    return TransactionLost("SQLite rolled this write back by itself; nothing of it was saved")


class CancelledAfterCommit(asyncio.CancelledError):
    """The writer was cancelled while its commit ran, and the commit landed: the write is saved. A
    ``CancelledError``, so the cancellation still ends the task as usual."""


# A 64-bit key from the name; a class of its own is not needed (planning's locks use two 32-bit keys,
# which never equal one 64-bit key: PostgreSQL keeps the two forms apart).
_ADVISORY_TRY_LOCK = text("SELECT pg_try_advisory_lock(hashtextextended(:name, 0))")
_ADVISORY_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:name, 0))")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def safe_url(url: str) -> str:
    """The database URL without its password, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def _prepare_sqlite(engine: AsyncEngine, *, for_reads: bool, busy_timeout_ms: int | None) -> None:
    begin = "BEGIN" if for_reads else "BEGIN IMMEDIATE"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver, so the BEGIN below is the one that runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        timeout = busy_timeout_ms or (SQLITE_READ_BUSY_TIMEOUT_MS if for_reads else SQLITE_BUSY_TIMEOUT_MS)
        cursor.execute(f"PRAGMA busy_timeout={timeout}")
        # WAL is a property of the file, set once. Setting it again is not free: while another process
        # holds the write lock it fails at once ("database is locked"), without the busy timeout.
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before it is acknowledged, so even a power loss loses nothing a member
        # was told was saved (in WAL mode NORMAL could lose the last commits).
        cursor.execute("PRAGMA synchronous=FULL")
        if for_reads:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    if for_reads:
        return

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _refuse_outside_transaction(connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        # After SQLite rolls a transaction back by itself, the connection is in autocommit mode: each
        # further statement of the block would be committed at once, and the block then reported as
        # failed. Refuse them instead.
        if not connection.in_transaction() or statement.startswith("BEGIN"):
            return
        if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            raise _transaction_lost()


def create_engine(url: str, *, echo: bool = False, for_reads: bool = False,
                  busy_timeout_ms: int | None = None) -> AsyncEngine:
    """The engine for ``url``. On SQLite its transactions begin ``IMMEDIATE`` (it writes), or, with
    ``for_reads``, ``DEFERRED`` (reads only: no lock, and a WAL reader never waits). ``busy_timeout_ms``
    replaces SQLite's default wait for another process's lock (migrations wait long, see above)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # SQLite creates the file on first use, never its folder, and neither do we: a mistyped folder
        # must fail (storage/problems.py says so in one sentence), not become a second, empty database.
        engine = create_async_engine(parsed.set(drivername="sqlite+aiosqlite"), echo=echo,
                                     pool_size=4 if for_reads else 2, max_overflow=4 if for_reads else 2)
        _prepare_sqlite(engine, for_reads=for_reads, busy_timeout_ms=busy_timeout_ms)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


# The task inside a write(), if any: a write() in the same task would wait for itself on SQLite.
# A task, not a flag: a task started inside the write inherits this context and may write on its own.
_WRITING: ContextVar[asyncio.Task[Any] | None] = ContextVar("quorum_db_writing", default=None)


def _is_busy(error: OperationalError) -> bool:
    code = getattr(error.orig, "sqlite_errorcode", None)
    return (code & 0xFF) == SQLITE_BUSY if isinstance(code, int) else "database is locked" in str(error.orig)


class Database:
    """One database and the two kinds of transaction services use: ``write()`` and ``read()``."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = create_engine(url, echo=echo, for_reads=True) if self.sqlite else None
        self._read_sessions = (async_sessionmaker(self._read_engine, expire_on_commit=False)
                               if self._read_engine is not None else self._sessions)
        self._sqlite_writer = asyncio.Lock()  # SQLite has one writer: this process's writers queue here

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends and rolls back if it raises. When the block
        ends without error, its changes are on disk; when it raises, none of them are (except
        ``CancelledAfterCommit``: see the module's docstring)."""
        task = asyncio.current_task()
        if task is not None and _WRITING.get() is task:
            raise NestedWrite("Database.write() inside Database.write(): use the outer write's session")
        writing = _WRITING.set(task)
        committed = False
        try:
            if not self.sqlite:
                async with self._sessions() as session:
                    try:
                        yield session
                        await session.flush()
                    except BaseException as error:
                        await _roll_back_keeping(error, session.rollback, session.invalidate)
                        raise
                    await _commit_shielded(session.commit())
                    committed = True
                return
            async with self._sqlite_writer, self.engine.connect() as connection:
                await self._begin_immediate(connection)
                # The session joins the connection's transaction; the commit below is ours.
                async with AsyncSession(bind=connection, expire_on_commit=False) as session:
                    try:
                        yield session
                        await session.flush()
                    except BaseException as error:
                        await _roll_back_keeping(error, connection.rollback, connection.invalidate)
                        raise
                    if not connection.sync_connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
                        await connection.rollback()
                        raise _transaction_lost()
                    await _commit_shielded(connection.commit())
                    committed = True
        except asyncio.CancelledError as cancelled:
            if committed and not isinstance(cancelled, CancelledAfterCommit):
                # Cancelled while closing the session or connection, after the commit landed.
                raise CancelledAfterCommit("cancelled after the write was committed: it is saved") from cancelled
            raise
        finally:
            _WRITING.reset(writing)

    async def _begin_immediate(self, connection: AsyncConnection) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write lock with the event loop free."""
        deadline = time.monotonic() + SQLITE_LOCK_WAIT_SECONDS
        pause = 0.001
        while True:
            try:
                await connection.begin()
                return
            except OperationalError as error:
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
                await connection.rollback()  # forget the transaction that did not begin
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    @asynccontextmanager
    async def exclusive(self, name: str) -> AsyncIterator[bool]:
        """Do something (which may include calls to other services, and transactions of its own) only if no
        other process is doing the same ``name``: yields True when this process got it (a PostgreSQL session
        advisory lock, held on a connection of its own), False at once when another holds it (the caller
        skips; never waits, so one slow holder stalls no one). SQLite serves one process: always True."""
        if self.sqlite:
            yield True
            return
        async with self.engine.connect() as connection:
            got = bool((await connection.execute(_ADVISORY_TRY_LOCK, {"name": name})).scalar())
            await connection.commit()  # the lock belongs to the session, not to this transaction
            if not got:
                yield False
                return
            try:
                yield True
            finally:
                try:
                    await connection.execute(_ADVISORY_UNLOCK, {"name": name})
                    await connection.commit()
                except BaseException:
                    # Unlock interrupted (a stop): end the session, and the lock with it, rather than
                    # return a connection that still holds it to the pool.
                    await connection.invalidate()
                    raise

    async def delete_in_batches(self, delete: Callable[[AsyncSession, int], Awaitable[int]], *, batch: int,
                                batches: int) -> tuple[int, bool]:
        """Housekeeping deletes in small transactions, so no writer waits long behind them: ``delete(session,
        limit)`` deletes up to ``limit`` rows and says how many; at most ``batches`` of them run. Returns the
        rows deleted and whether some may be left (the last batch was full) for the caller's next turn."""
        deleted = 0
        for _ in range(batches):
            async with self.write() as session:
                count = await delete(session, batch)
            deleted += count
            if count < batch:
                return deleted, False
        return deleted, True

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only transaction: on SQLite it sees what was committed when it began, and never waits
        for a writer."""
        async with self._read_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self._read_engine is not None:
            await self._read_engine.dispose()
        await self.engine.dispose()


async def _commit_shielded(commit: Awaitable[None]) -> None:
    """Runs ``commit`` to its end even if the writer is cancelled meanwhile: a cancelled await would not
    stop the COMMIT (it runs on aiosqlite's thread, or on the server), only hide its outcome, and the
    connection would then be closed under it. A failed commit raises its error (nothing is saved); a
    commit that landed for a cancelled writer raises ``CancelledAfterCommit``."""
    running = asyncio.ensure_future(commit)
    cancelled = False
    while not running.done():
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            cancelled = True  # the writer's cancellation (or the commit's own, checked below)
    running.result()
    if cancelled:
        raise CancelledAfterCommit("cancelled during its commit, which landed: the write is saved")


async def _roll_back_keeping(error: BaseException, rollback: Callable[[], Awaitable[None]],
                             discard: Callable[[], Awaitable[None]]) -> None:
    """Rolls the write back after ``error``. If the rollback fails too, the writer still gets ``error``
    (what went wrong in its block), with a note, and the connection is discarded rather than pooled in an
    unknown state: closing it ends its transaction either way."""
    try:
        await rollback()
    except Exception as rollback_error:
        error.add_note(f"Rolling the write back failed too: {rollback_error!r}; its connection was discarded")
        await discard()
