"""The SQLite dialect that runs inline statements directly (storage/sqlite_dialect.py)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.queries.common import connection_of, core_execute, core_rows
from storage.sqlite_inline import InlineConnection

INSERT = text("INSERT INTO workspace (id, platform, name, created_at) VALUES (:id, 'console', :id, "
              "'2022-03-01T12:00:00')")


def _stored(url: str) -> set[str]:
    path = make_url(url).database
    assert path
    with sqlite3.connect(path) as raw:
        return {row[0] for row in raw.execute("SELECT id FROM workspace")}


async def test_the_standard_url_gets_the_inline_dialect(sqlite_db: Database) -> None:
    assert sqlite_db.url.startswith("sqlite+aiosqlite://")
    assert sqlite_db.engine.dialect.name == "sqlite"
    assert sqlite_db.engine.dialect.driver == "quorum_inline"


async def test_an_inline_statement_error_is_sqlalchemys_and_undoes_only_its_writer(sqlite_db: Database,
                                                                                  sqlite_url: str) -> None:
    async with sqlite_db.write() as session:
        await core_execute(session, INSERT, {"id": "kept"})
    with pytest.raises(exc.IntegrityError, match="UNIQUE"):
        async with sqlite_db.write() as session:
            await core_execute(session, INSERT, {"id": "undone"})
            await core_execute(session, INSERT, {"id": "kept"})  # the same key again
    assert _stored(sqlite_url) == {"kept"}
    async with sqlite_db.read() as session:
        assert [r[0] for r in await core_rows(session, text("SELECT id FROM workspace"), {})] == ["kept"]


async def test_a_nested_savepoint_inside_a_writer_rolls_back_alone(sqlite_db: Database, sqlite_url: str) -> None:
    async with sqlite_db.write() as session:
        await core_execute(session, INSERT, {"id": "outer"})
        with pytest.raises(exc.IntegrityError):
            async with session.begin_nested():  # as bot/services/vote_notices.py does
                await session.execute(INSERT, {"id": "inner"})
                await session.execute(INSERT, {"id": "outer"})
        await core_execute(session, INSERT, {"id": "after"})
    assert _stored(sqlite_url) == {"outer", "after"}


async def test_pending_orm_changes_are_flushed_before_a_core_read(sqlite_db: Database) -> None:
    from datetime import UTC, datetime

    from storage.models import Workspace

    async with sqlite_db.write() as session:
        session.add(Workspace(id="pending", platform="console", name="p", created_at=datetime(2022, 3, 1, tzinfo=UTC)))
        rows = await core_rows(session, text("SELECT id FROM workspace"), {})
    assert [r[0] for r in rows] == ["pending"]


async def test_after_a_failed_flush_the_writer_can_run_nothing_more(sqlite_db: Database, sqlite_url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.exc import InvalidRequestError

    from storage.models import Workspace

    async with sqlite_db.write() as session:
        await core_execute(session, INSERT, {"id": "taken"})
    with pytest.raises(InvalidRequestError):  # the session refuses, as it would for its own queries
        async with sqlite_db.write() as session:
            session.add(Workspace(id="taken", platform="console", name="t", created_at=datetime(2022, 3, 1,
                                                                                                tzinfo=UTC)))
            with pytest.raises(exc.IntegrityError):
                await session.flush()  # rolls this writer's savepoint back
            # Run straight on the connection, this would land outside the savepoint and be committed.
            await core_execute(session, INSERT, {"id": "after-the-failure"})
    assert _stored(sqlite_url) == {"taken"}


async def test_many_parameter_sets_run_inline(sqlite_db: Database, sqlite_url: str) -> None:
    async with sqlite_db.write() as session:
        connection = await connection_of(session)
        assert connection.sync_connection is not None
        connection.sync_connection.execute(INSERT, [{"id": "a"}, {"id": "b"}])  # executemany, no greenlet
    assert _stored(sqlite_url) == {"a", "b"}


async def test_a_transaction_sqlite_rolled_back_itself_fails_every_writer_of_its_batch(
    sqlite_db: Database, sqlite_url: str
) -> None:
    import asyncio

    first_wrote, release_first = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with sqlite_db.write() as session:
            await core_execute(session, INSERT, {"id": "first"})
            first_wrote.set()
            await release_first.wait()

    async def second() -> None:
        async with sqlite_db.write() as session:  # queued behind the first: the same batch
            connection = (await connection_of(session)).sync_connection
            assert connection is not None
            driver = connection.connection.driver_connection
            assert isinstance(driver, InlineConnection)
            driver._conn.execute("ROLLBACK")  # what SQLite does itself on a full disk or an I/O error

    first_task = asyncio.create_task(first())
    await first_wrote.wait()
    second_task = asyncio.create_task(second())
    await asyncio.sleep(0)  # one turn of the loop: the second writer is now queued
    release_first.set()
    results = await asyncio.gather(first_task, second_task, return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert "nothing was saved" in str(results[0])
    assert _stored(sqlite_url) == set()
    async with sqlite_db.write() as session:  # and the write path works afterwards
        await core_execute(session, INSERT, {"id": "later"})
    assert _stored(sqlite_url) == {"later"}
