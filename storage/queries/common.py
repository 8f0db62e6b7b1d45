"""Helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Executable, Result, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import SQLModel


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[SQLModel], values: dict[str, Any], conflict: list[str]
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on either database; True when a row was inserted. Used where
    two requests may create the same row at once (a retry, two replicas): the constraint decides."""
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def core_rows(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
    """Run a Core statement on the session's connection and return its rows (see storage/records.py:
    the hottest reads skip ORM entity loading). Pending ORM changes are flushed first, as the ORM's
    own queries would, so the rows include them."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return (await core_execute(session, statement, params)).all()


async def core_execute(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> Result[Any]:
    """Run a Core statement on the session's connection (without flushing pending ORM changes)."""
    connection = await connection_of(session)
    if getattr(connection.dialect, "executes_inline", False):
        # SQLite on our driver: the statement runs at once, so the greenlet the async API would
        # start for it is pure cost (storage/sqlite_dialect.py).
        return connection.sync_connection.execute(statement, params)  # type: ignore[union-attr]
    return await connection.execute(statement, params)


async def connection_of(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction, remembered on the session: asking the session
    for it costs more than a simple query (each session serves one transaction, see storage.db).

    Remembered together with the session's transaction at that moment: once that transaction is no
    longer active (a flush failed and rolled back this writer's savepoint, say), the session is asked
    again, and refuses as it would for its own queries, instead of statements running outside it."""
    remembered = session.info.get(_CONNECTION)
    if remembered is not None:
        connection, transaction = remembered
        if connection.in_transaction() and (transaction is None or transaction.is_active):
            return cast(AsyncConnection, connection)
    connection = await session.connection()
    remember_connection(session, connection)
    return connection


def remember_connection(session: AsyncSession, connection: AsyncConnection) -> None:
    """For a session whose creator already holds its connection: connection_of() need not ask for it.
    A session that has not begun yet (a read's, which joins its connection's transaction when first
    used) is checked only by that connection's transaction."""
    session.info[_CONNECTION] = (connection, session.sync_session.get_transaction())


_CONNECTION = "quorum.connection"
