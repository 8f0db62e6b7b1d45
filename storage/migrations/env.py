"""Alembic environment: runs the migrations over the async engine of the configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import SQLITE_MIGRATION_BUSY_TIMEOUT_MS, create_engine

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    # The application's engine: a new SQLite file is in WAL mode from the start, and the migration
    # takes the write lock up front (BEGIN IMMEDIATE) like every other writer. Without write()'s retry
    # loop, SQLite's busy handler waits for another process's lock (quorum run next to a running bot).
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "",
                           busy_timeout_ms=SQLITE_MIGRATION_BUSY_TIMEOUT_MS)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
