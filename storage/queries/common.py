"""Helpers shared by the query modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


def dialect_of(session: AsyncSession) -> str:
    """"postgresql" or "sqlite": the database the session talks to."""
    return "postgresql" if session.bind is not None and session.bind.dialect.name == "postgresql" else "sqlite"


def upsert_builder(session: AsyncSession) -> Any:
    """The session's dialect's ``insert``, the one with ``on_conflict_do_nothing`` / ``_do_update``
    (PostgreSQL's, or SQLite's: both also take ``returning``)."""
    return postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[SQLModel], values: dict[str, Any], conflict: list[str] | None
) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on either database; True when a row was inserted. Used where
    two requests may create the same row at once (a retry, two replicas): the constraint decides.
    ``conflict=None`` ignores a conflict with any unique constraint of the table."""
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    statement = upsert_builder(session)(table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def core_rows(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
    """Run a Core statement in the session's transaction and return its rows (see storage/records.py:
    the hottest reads skip ORM entity loading). Pending ORM changes are flushed first, as the ORM's
    own queries would, so the rows include them."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return (await session.execute(statement, params)).all()
