"""Applying the Alembic migrations from code (``quorum db upgrade`` and start-up)."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "heads") -> None:
    """Run in a worker thread: Alembic's async env starts its own event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)


@cache
def head_revisions() -> frozenset[str]:
    """This release's newest revisions (reading the migration scripts, once per process)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


async def unapplied_heads(db: Database) -> frozenset[str]:
    """This release's head revisions the database has not reached: empty when it is up to date. Raises what
    the driver raises when the database does not answer."""
    heads = await asyncio.to_thread(head_revisions)  # the first call reads the scripts: not on the loop
    async with db.read() as session:
        connection = await session.connection()
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return heads  # never migrated
        applied = {row[0] for row in await session.execute(text("SELECT version_num FROM alembic_version"))}
    return heads - applied
