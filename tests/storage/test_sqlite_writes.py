"""SQLite's write path: group commit (storage/group_commit.py) and the inline driver
(storage/sqlite_inline.py). These are SQLite-only by nature; PostgreSQL keeps one transaction per write."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.group_commit import GroupCommitWriter

NOW = datetime(2022, 3, 1, 12, tzinfo=UTC)


class Refused(Exception):
    pass


def _path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


async def _add_workspace(db: Database, name: str, *, fail: bool = False, started: asyncio.Event | None = None,
                         proceed: asyncio.Event | None = None) -> None:
    async with db.write() as session:
        await session.execute(
            text("INSERT INTO workspace (id, platform, name, created_at) VALUES (:id, 'console', :id, :at)"),
            {"id": name, "at": NOW.isoformat()},
        )
        if started is not None:
            started.set()
        if proceed is not None:
            await proceed.wait()
        if fail:
            raise Refused(name)


def _stored_names(url: str) -> set[str]:
    with sqlite3.connect(_path(url)) as raw:  # an independent reader: only committed rows are visible
        return {row[0] for row in raw.execute("SELECT id FROM workspace")}


def _writer(db: Database) -> GroupCommitWriter:
    writer = db._group_commit
    assert writer is not None
    return writer


async def test_writers_queued_together_share_one_commit(sqlite_db: Database, sqlite_url: str) -> None:
    await asyncio.gather(*(_add_workspace(sqlite_db, f"w{i}") for i in range(20)))
    assert _stored_names(sqlite_url) == {f"w{i}" for i in range(20)}
    # 20 writers queued at once: far fewer disk commits than writers (the first may commit alone).
    assert sqlite_db.disk_commits is not None and sqlite_db.disk_commits <= 3


async def test_a_failing_writer_loses_only_its_own_changes(sqlite_db: Database, sqlite_url: str) -> None:
    results = await asyncio.gather(
        *(_add_workspace(sqlite_db, f"w{i}", fail=(i % 3 == 0)) for i in range(9)), return_exceptions=True
    )
    assert [isinstance(r, Refused) for r in results] == [i % 3 == 0 for i in range(9)]
    assert _stored_names(sqlite_url) == {f"w{i}" for i in range(9) if i % 3 != 0}


async def test_nothing_is_acknowledged_before_it_is_committed(sqlite_db: Database, sqlite_url: str) -> None:
    first_started, release_first, release_second = asyncio.Event(), asyncio.Event(), asyncio.Event()
    second_started = asyncio.Event()
    first = asyncio.create_task(_add_workspace(sqlite_db, "first", started=first_started, proceed=release_first))
    await first_started.wait()
    second = asyncio.create_task(_add_workspace(sqlite_db, "second", started=second_started, proceed=release_second))
    await asyncio.sleep(0)  # one turn of the loop: the second writer is now queued behind the first
    assert _writer(sqlite_db)._queued == 1
    release_first.set()
    await second_started.wait()
    # The first writer's body is done, but its batch is still open for the second: not yet acknowledged,
    # and not visible to anyone else.
    assert not first.done()
    assert _stored_names(sqlite_url) == set()
    release_second.set()
    await asyncio.gather(first, second)
    assert _stored_names(sqlite_url) == {"first", "second"}
    assert sqlite_db.disk_commits == 1


async def test_a_failed_commit_fails_every_writer_of_the_batch(sqlite_db: Database, sqlite_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    original = AsyncConnection.commit

    async def disk_full(self: AsyncConnection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(AsyncConnection, "commit", disk_full)
    results = await asyncio.gather(*(_add_workspace(sqlite_db, f"w{i}") for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    monkeypatch.setattr(AsyncConnection, "commit", original)
    assert _stored_names(sqlite_url) == set()
    # The write path is usable again afterwards.
    await _add_workspace(sqlite_db, "after")
    assert _stored_names(sqlite_url) == {"after"}


async def test_no_transaction_is_left_open_between_writes(sqlite_db: Database, sqlite_url: str) -> None:
    await asyncio.gather(*(_add_workspace(sqlite_db, f"w{i}") for i in range(5)))
    # Another process can take the write lock at once (timeout 0: no waiting).
    with sqlite3.connect(_path(sqlite_url), timeout=0, isolation_level=None) as raw:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("ROLLBACK")


async def test_a_write_waits_for_another_process_lock_without_blocking_the_loop(
    sqlite_db: Database, sqlite_url: str
) -> None:
    other = sqlite3.connect(_path(sqlite_url), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    try:
        write = asyncio.create_task(_add_workspace(sqlite_db, "waited"))
        turns = 0
        for _ in range(50):  # the loop keeps running other work while the write waits for the lock
            await asyncio.sleep(0)
            turns += 1
        assert turns == 50 and not write.done()
    finally:
        other.execute("COMMIT")
        other.close()
    await write
    assert _stored_names(sqlite_url) == {"waited"}


async def test_reads_see_committed_writes_and_a_failed_statement_changes_nothing(
    sqlite_db: Database, sqlite_url: str
) -> None:
    await _add_workspace(sqlite_db, "one")
    with pytest.raises(Exception, match="UNIQUE"):
        await _add_workspace(sqlite_db, "one")
    async with sqlite_db.read() as session:
        rows = (await session.execute(text("SELECT id FROM workspace"))).all()
    assert [r[0] for r in rows] == ["one"]


async def test_a_writer_cancelled_while_queued_does_not_strand_the_batch(sqlite_db: Database,
                                                                         sqlite_url: str) -> None:
    writer = _writer(sqlite_db)
    first_started, release_first = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_add_workspace(sqlite_db, "first", started=first_started, proceed=release_first))
    await first_started.wait()
    queued = asyncio.create_task(_add_workspace(sqlite_db, "queued"))
    await asyncio.sleep(0)  # one turn of the loop: the second writer is now queued for the lock
    assert writer._queued == 1

    # The first writer ends its body, leaves the batch open for the queued writer and hands it the lock;
    # at that very moment the queued writer is cancelled (a member's request timed out, say).
    release_lock = writer._lock.release

    def release_then_cancel() -> None:
        release_lock()
        if writer._batch is not None:
            queued.cancel()

    writer._lock.release = release_then_cancel  # type: ignore[method-assign]
    release_first.set()
    with pytest.raises(asyncio.CancelledError):
        await queued
    # Someone must still commit the first writer's batch (a guard, not a wait: it fails instead of hanging).
    await asyncio.wait_for(first, timeout=10)
    assert _stored_names(sqlite_url) == {"first"}
    assert writer._batch is None


async def test_a_read_inside_a_write_is_refused(sqlite_db: Database) -> None:
    # It would not see what the writers batched with this one wrote: reads inside a write use its session.
    with pytest.raises(RuntimeError, match="use the write's session"):
        async with sqlite_db.write(), sqlite_db.read():
            pass
    async with sqlite_db.read() as session:  # outside a write, reads work (and the refusal left no state)
        assert (await session.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_task_started_inside_a_write_reads_on_its_own(sqlite_db: Database) -> None:
    async def count_workspaces() -> int:
        async with sqlite_db.read() as session:
            return int((await session.execute(text("SELECT count(*) FROM workspace"))).scalar_one())

    async with sqlite_db.write():
        background = asyncio.create_task(count_workspaces())  # e.g. a listener's sync started meanwhile
    assert await background == 0
