"""What a writer is told when something happens at the very end of its write, on both databases: a
cancellation during the commit, and a rollback that fails too."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlmodel import col

from storage.db import CancelledAfterCommit, Database
from storage.models import Workspace

NOW = datetime(2022, 3, 1, 12, tzinfo=UTC)


class Refused(Exception):
    pass


class ConnectionLost(Exception):
    pass


async def _add_workspace(db: Database, name: str, *, fail: bool = False) -> None:
    async with db.write() as session:
        session.add(Workspace(id=name, platform="console", name=name, created_at=NOW))
        await session.flush()
        if fail:
            raise Refused(name)


async def _stored_names(db: Database) -> set[str]:
    async with db.read() as session:
        return set((await session.execute(select(col(Workspace.id)))).scalars())


async def test_a_writer_cancelled_during_its_commit_is_told_the_write_is_saved(db: Database) -> None:
    """The COMMIT runs on aiosqlite's thread (or on the server) whatever happens to the awaiting task: a
    writer cancelled then must not be told a plain "cancelled" (read: nothing saved) for a commit that
    lands, and its connection must not be closed under the running commit."""
    writer: asyncio.Task[None] | None = None

    def cancel_the_writer(_connection: Any) -> None:  # SQLAlchemy's event, just before the driver's COMMIT
        assert writer is not None
        writer.cancel()  # a member's request timed out at that moment, say

    event.listen(db.engine.sync_engine, "commit", cancel_the_writer)
    try:
        writer = asyncio.create_task(_add_workspace(db, "committed"))
        with pytest.raises(CancelledAfterCommit):
            await writer
    finally:
        event.remove(db.engine.sync_engine, "commit", cancel_the_writer)
    assert writer.cancelled()  # still an ordinary cancellation for whoever awaits the task
    assert await _stored_names(db) == {"committed"}
    await _add_workspace(db, "next")  # the connection and the writer's turn were handed back whole
    assert await _stored_names(db) == {"committed", "next"}


async def test_a_writer_cancelled_in_its_block_is_told_cancelled_and_nothing_is_saved(db: Database) -> None:
    inside, never = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        async with db.write() as session:
            session.add(Workspace(id="cancelled", platform="console", name="", created_at=NOW))
            await session.flush()
            inside.set()
            await never.wait()

    writer = asyncio.create_task(write())
    await inside.wait()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError) as raised:
        await writer
    assert not isinstance(raised.value, CancelledAfterCommit)
    assert await _stored_names(db) == set()


async def test_a_failing_rollback_does_not_hide_the_writers_own_error(db: Database) -> None:
    failures: list[str] = []

    def lose_the_connection(_connection: Any) -> None:  # SQLAlchemy's event, just before the driver's ROLLBACK
        if not failures:
            failures.append("rollback")
            raise ConnectionLost("the connection went away during ROLLBACK")

    event.listen(db.engine.sync_engine, "rollback", lose_the_connection)
    try:
        with pytest.raises(Refused) as raised:
            await _add_workspace(db, "refused", fail=True)
    finally:
        event.remove(db.engine.sync_engine, "rollback", lose_the_connection)
    assert failures == ["rollback"]
    assert any("ConnectionLost" in note for note in getattr(raised.value, "__notes__", []))
    await _add_workspace(db, "later")  # the broken connection was discarded, not handed to the next writer
    assert await _stored_names(db) == {"later"}
