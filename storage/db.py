"""Engines and transactions.

SQLite (the default) runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can otherwise lose an update
to a concurrent writer. Within one process, writers queue and those queued together share one commit
(``storage.group_commit``); statements run on the event loop's thread (``storage.sqlite_inline``).
PostgreSQL runs on asyncpg with a pool, one transaction per ``write()``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_dialect, sqlite_inline
from storage.group_commit import GroupCommitWriter
from storage.sqlite_readers import SqliteReaders

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so our BEGIN below is the one that runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # WAL is a property of the file, set once. Setting it again is not free: while another process
        # holds the write lock it fails at once ("database is locked"), without the busy timeout.
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before it is acknowledged, so even a power loss loses nothing a member
        # was told was saved (NORMAL would be ~0.3 ms faster per write here, and could lose the last ones).
        cursor.execute("PRAGMA synchronous=FULL")
        if read_only:
            # A read's transaction ends with a rollback (storage/sqlite_readers.py): a write inside a
            # read would vanish silently, so it fails instead ("attempt to write a readonly database").
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()


def create_engine(url: str, *, echo: bool = False, for_reads: bool = False) -> AsyncEngine:
    """The engine for ``url``. On SQLite its transactions begin ``IMMEDIATE`` (it writes), or, with
    ``for_reads``, ``DEFERRED`` (reads only: no lock, and a WAL reader never waits)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            parsed.set(drivername=f"sqlite+{sqlite_dialect.DRIVER}"), echo=echo, pool_size=8, max_overflow=8,
            begin_mode="DEFERRED" if for_reads else "IMMEDIATE",
            async_creator=lambda: sqlite_inline.connect(database or ":memory:",
                                                        busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS),
        )
        _prepare_sqlite(engine, read_only=for_reads)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


# The task inside an SQLite write(), if any (see read()). A task, not a flag: a task started inside the
# write inherits this context, and its reads are its own.
_WRITING: ContextVar[asyncio.Task[Any] | None] = ContextVar("quorum_db_writing", default=None)


class Database:
    """One engine and the two kinds of transaction services use: ``write()`` and ``read()``."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)  # PostgreSQL's reads and writes
        # SQLite has one writer: writes queue in this process and share commits (storage/group_commit.py).
        self._group_commit = GroupCommitWriter(self.engine) if self.sqlite else None
        # SQLite reads have their own engine, whose transactions begin DEFERRED, and keep their
        # connections between reads (storage/sqlite_readers.py).
        self._read_engine = create_engine(url, echo=echo, for_reads=True) if self.sqlite else None
        self._sqlite_readers = SqliteReaders(self._read_engine) if self._read_engine is not None else None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that commits when the block ends and rolls back if it raises. When the block
        ends without error, its changes are on disk (SQLite: possibly in one commit shared with other
        writers that queued meanwhile)."""
        if self._group_commit is not None:
            writing = _WRITING.set(asyncio.current_task())
            try:
                async with self._group_commit.write() as session:
                    yield session
            finally:
                _WRITING.reset(writing)
            return
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        writer = _WRITING.get()
        if writer is not None and writer is asyncio.current_task():
            # Inside a write, read through its session: a separate read would not see what this batch
            # of writers (storage/group_commit.py) has written but not yet committed.
            raise RuntimeError("Database.read() inside Database.write(): use the write's session")
        if self._sqlite_readers is not None:
            async with self._sqlite_readers.session() as session:
                yield session
            return
        async with self._sessions() as session, session.begin():
            yield session

    @property
    def disk_commits(self) -> int | None:
        """How many commits SQLite's writers have needed so far (shared by group commit); None on
        PostgreSQL, where each write commits on its own. For the benchmark and tests."""
        return self._group_commit.commits if self._group_commit is not None else None

    async def dispose(self) -> None:
        if self._group_commit is not None:
            await self._group_commit.wait_closed()
        if self._sqlite_readers is not None:
            await self._sqlite_readers.close()
        if self._read_engine is not None:
            await self._read_engine.dispose()
        await self.engine.dispose()
