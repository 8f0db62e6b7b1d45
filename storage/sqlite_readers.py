"""Read transactions on SQLite, on connections kept open between reads.

Why: a read command (``/agenda list``) runs a handful of indexed queries that cost SQLite microseconds,
but taking a connection from SQLAlchemy's pool for it and giving it back costs about 0.1 ms, and the
``AsyncSession`` context closes itself in a separate task (one more trip round the event loop). Under
load that fixed cost was a third of a read (bench/commands.py). Here a read takes an idle connection
kept from an earlier read, begins a deferred transaction on it, hands out an ``AsyncSession`` bound to
it, and afterwards ends the transaction and keeps the connection for the next read.

This is safe because on SQLite in WAL mode a connection outside a transaction holds no lock and no
snapshot: a kept connection sees every commit made meanwhile, by this process or another. A connection
whose read failed in a way that may have broken it is closed, not kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.queries.common import remember_connection

# Idle connections kept for reads. Reads run inline on the event loop, so more than a few are rarely
# idle at once; a burst beyond this borrows from the engine's pool and returns the extra afterwards.
MAX_IDLE_READERS = 4


class SqliteReaders:
    def __init__(self, engine: AsyncEngine, max_idle: int = MAX_IDLE_READERS) -> None:
        self._engine = engine  # its dialect begins DEFERRED (storage.db.create_engine(for_reads=True))
        self._max_idle = max_idle
        self._idle: list[AsyncConnection] = []
        self._closed = False  # once closed, a read still under way gives its connection back

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        connection = self._idle.pop() if self._idle else await self._engine.connect()
        # BEGIN DEFERRED, the rollback that ends a read and closing a session that ran no write all run
        # inline on our driver (storage/sqlite_dialect.py), so they are called on the synchronous
        # objects directly: through the async API each would start a greenlet.
        sync_connection = connection.sync_connection
        assert sync_connection is not None
        try:
            sync_connection.begin()
            # The session joins the connection's transaction and leaves ending it to us.
            session = AsyncSession(bind=connection, expire_on_commit=False)
            remember_connection(session, connection)
            try:
                yield session
            finally:
                session.sync_session.close()
        finally:
            await self._end(connection)

    async def _end(self, connection: AsyncConnection) -> None:
        """End the read and keep the connection, unless ending it failed or it is broken."""
        kept = False
        try:
            if connection.in_transaction():
                # Read-only: a rollback ends it as a commit would, and in WAL mode writes nothing.
                connection.sync_connection.rollback()  # type: ignore[union-attr]
            kept = not self._closed and not connection.invalidated and len(self._idle) < self._max_idle
        finally:
            if kept:
                self._idle.append(connection)
            else:
                await connection.close()

    async def close(self) -> None:
        """Give the idle connections back to the engine's pool (before the engine is disposed)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
