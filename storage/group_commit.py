"""Group commit for SQLite: writers queued at the same moment share one ``COMMIT``, so one disk sync.

SQLite has one writer, and with ``synchronous=FULL`` every ``COMMIT`` waits for an fsync (0.4–2.5 ms
here), which used to be paid once per command while every other writer queued behind it. Here writers
still run one at a time, on one connection, but each inside its own ``SAVEPOINT`` of a shared
``BEGIN IMMEDIATE`` transaction:

- A writer that fails rolls back to its savepoint: its changes vanish, the others' stay.
- When a writer finishes and nobody is queued behind it (or the batch is full), the batch commits.
- Every writer waits for that commit before ``write()`` returns. So nothing is acknowledged to a
  member before it is on disk, exactly as with one transaction per command, and a failed commit fails
  every writer in the batch.

A batch is never left open: the last writer of a batch always commits it, so when no ``write()`` is
running no transaction is open and other processes can take the write lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.queries.common import remember_connection

# Bounds how long the first writer of a busy batch waits for its commit. Eight command bodies take far
# longer than one fsync, so a larger batch saves little disk time and only adds waiting (bench/commands.py:
# 701 commands/s with 8, 674 with 16, and p50 under saturation 16 ms against 33 ms).
MAX_WRITERS_PER_COMMIT = 8


@dataclass(eq=False)
class _Batch:
    connection: AsyncConnection
    committed: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    writers: int = 0


class GroupCommitWriter:
    def __init__(self, engine: AsyncEngine, max_writers: int = MAX_WRITERS_PER_COMMIT) -> None:
        self._engine = engine
        self._max_writers = max_writers
        self._lock = asyncio.Lock()
        self._queued = 0  # writers waiting for the lock: while any are, the batch stays open for them
        self._batch: _Batch | None = None
        self.commits = 0  # for tests and the benchmark: how many disk commits the writers needed
        self._closing: set[asyncio.Future[None]] = set()  # commits under way (referenced until done)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        self._queued += 1
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while queued
            self._queued -= 1
            if self._queued == 0 and self._batch is not None:
                # The writers before this one left their batch open for it: commit it for them.
                self._track(self._commit_left_open())
            raise
        self._queued -= 1
        try:
            batch = self._batch or await self._open()
            batch.writers += 1
            try:
                async with _savepoint_session(batch.connection) as session:
                    yield session
            finally:
                if self._queued == 0 or batch.writers >= self._max_writers:
                    self._batch = None
                    # Shielded: a writer cancelled here must not cut short the others' commit.
                    await asyncio.shield(self._track(self._commit(batch)))
        finally:
            self._lock.release()
        await asyncio.shield(batch.committed)

    async def wait_closed(self) -> None:
        """Wait for commits under way (one a cancelled writer left running, say), so that closing the
        engine afterwards finds every connection back in its pool."""
        while self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    def _track(self, commit: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(commit)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return task

    async def _open(self) -> _Batch:
        connection = await self._engine.connect()
        try:
            await connection.begin()  # BEGIN IMMEDIATE (storage/sqlite_dialect.py's do_begin)
        except BaseException:
            await connection.close()
            raise
        self._batch = _Batch(connection)
        return self._batch

    async def _commit_left_open(self) -> None:
        async with self._lock:
            batch = self._batch
            if batch is not None and self._queued == 0:  # else a queued writer will end the batch
                self._batch = None
                await self._commit(batch)

    async def _commit(self, batch: _Batch) -> None:
        try:
            await batch.connection.commit()
        except BaseException as error:  # every writer of the batch learns that nothing was saved
            batch.committed.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            self.commits += 1
            batch.committed.set_result(None)
        finally:
            await batch.connection.close()


@asynccontextmanager
async def _savepoint_session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session for one writer, inside its own SAVEPOINT of the batch's transaction: released when the
    block ends, rolled back to if it raises.

    The SAVEPOINT, its RELEASE and closing the session run no statement that waits (our dialect sends
    savepoints straight to the driver, storage/sqlite_dialect.py), so they are called on the
    synchronous session directly rather than through the async API, which would start a greenlet for
    each (a third of a writer's fixed cost). Whatever may execute ORM statements (flushing pending
    changes, a rollback after an error) still goes through the async API."""
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    sync_session = session.sync_session
    try:
        sync_session.begin()
        sync_session.connection()  # takes the SAVEPOINT now, before any statement runs on the connection
        remember_connection(session, connection)
        yield session
        if session.new or session.dirty or session.deleted:
            await session.commit()  # flushes first
        else:
            sync_session.commit()  # RELEASE SAVEPOINT
    except BaseException:
        await session.rollback()  # ROLLBACK TO SAVEPOINT
        raise
    finally:
        await session.close() if sync_session.in_transaction() else sync_session.close()
