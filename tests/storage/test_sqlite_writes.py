"""SQLite's write path (storage/db.py): one write transaction at a time, ``BEGIN IMMEDIATE``, durable when
``write()`` returns, and faults injected where SQLite really produces them: a trigger's
``RAISE(ROLLBACK)`` (SQLite rolls the whole transaction back by itself, as after an I/O error), a full
database (``max_page_count``), another process holding the write lock, a cancelled writer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import Database, TransactionLost

NOW = datetime(2022, 3, 1, 12, tzinfo=UTC)
INSERT = text("INSERT INTO workspace (id, platform, name, created_at) VALUES (:id, 'console', :name, :at)")


class Refused(Exception):
    pass


def _path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


async def _add_workspace(db: Database, name: str, *, fail: bool = False, started: asyncio.Event | None = None,
                         proceed: asyncio.Event | None = None, size: int = 0) -> None:
    async with db.write() as session:
        await session.execute(INSERT, {"id": name, "name": name + "x" * size, "at": NOW.isoformat()})
        if started is not None:
            started.set()
        if proceed is not None:
            await proceed.wait()
        if fail:
            raise Refused(name)


def _stored_names(url: str) -> set[str]:
    with sqlite3.connect(_path(url)) as raw:  # an independent reader: only committed rows are visible
        return {row[0] for row in raw.execute("SELECT id FROM workspace")}


async def _read_workspaces(db: Database) -> list[str]:
    async with db.read() as session:
        return [row[0] for row in await session.execute(text("SELECT id FROM workspace"))]


def _lock_is_free(url: str) -> bool:
    """Whether another process could take SQLite's write lock right now, without waiting."""
    try:
        with sqlite3.connect(_path(url), timeout=0, isolation_level=None) as raw:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False


@contextmanager
def _another_process_holding_the_lock(url: str) -> Iterator[None]:
    """SQLite's write lock held by another connection (as another process would) until the block ends."""
    other = sqlite3.connect(_path(url), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _add_rollback_trigger(url: str) -> None:
    """Any workspace named 'poison' makes SQLite roll the whole transaction back by itself."""
    with sqlite3.connect(_path(url)) as raw:
        raw.execute("CREATE TRIGGER poison BEFORE INSERT ON workspace WHEN NEW.id = 'poison' "
                    "BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END")


async def test_concurrent_writers_all_land(sqlite_db: Database, sqlite_url: str) -> None:
    await asyncio.gather(*(_add_workspace(sqlite_db, f"w{i}") for i in range(20)))
    assert _stored_names(sqlite_url) == {f"w{i}" for i in range(20)}
    assert _lock_is_free(sqlite_url)  # no transaction is left open between writes


async def test_a_failing_writer_loses_only_its_own_changes(sqlite_db: Database, sqlite_url: str) -> None:
    results = await asyncio.gather(
        *(_add_workspace(sqlite_db, f"w{i}", fail=(i % 3 == 0)) for i in range(9)), return_exceptions=True
    )
    assert [isinstance(r, Refused) for r in results] == [i % 3 == 0 for i in range(9)]
    assert _stored_names(sqlite_url) == {f"w{i}" for i in range(9) if i % 3 != 0}


async def test_concurrent_read_then_write_loses_no_update(sqlite_db: Database, sqlite_url: str) -> None:
    await _add_workspace(sqlite_db, "counter")

    async def increment() -> None:
        async with sqlite_db.write() as session:
            name = (await session.execute(text("SELECT name FROM workspace WHERE id = 'counter'"))).scalar_one()
            await asyncio.sleep(0)  # let every other writer reach the same point, if it could
            await session.execute(text("UPDATE workspace SET name = :n WHERE id = 'counter'"), {"n": name + "+"})

    await asyncio.gather(*(increment() for _ in range(10)))
    async with sqlite_db.read() as session:
        name = (await session.execute(text("SELECT name FROM workspace WHERE id = 'counter'"))).scalar_one()
    assert name == "counter" + "+" * 10


async def test_a_write_is_on_disk_when_it_returns_and_not_before(sqlite_db: Database, sqlite_url: str) -> None:
    started, proceed = asyncio.Event(), asyncio.Event()
    writer = asyncio.create_task(_add_workspace(sqlite_db, "late", started=started, proceed=proceed))
    await started.wait()
    assert _stored_names(sqlite_url) == set()  # inside the block: not committed, not visible
    proceed.set()
    await writer
    assert _stored_names(sqlite_url) == {"late"}


async def test_a_write_waits_for_another_process_lock_without_blocking_the_loop(
    sqlite_db: Database, sqlite_url: str
) -> None:
    with _another_process_holding_the_lock(sqlite_url):
        write = asyncio.create_task(_add_workspace(sqlite_db, "waited"))
        for _ in range(50):  # let the write start and ask for the lock
            await asyncio.sleep(0)
        # Other work runs on the loop meanwhile: a read (it needs no write lock) completes, and the write is
        # still waiting. A write that waited with the loop blocked would have given up (done, "locked") by
        # the time the read could run.
        assert await _read_workspaces(sqlite_db) == []
        assert not write.done()
    await asyncio.wait_for(write, timeout=10)  # a guard against a hang, not a wait for time
    assert _stored_names(sqlite_url) == {"waited"}


async def test_reads_see_committed_writes_and_a_failed_statement_changes_nothing(sqlite_db: Database) -> None:
    await _add_workspace(sqlite_db, "one")
    with pytest.raises(IntegrityError, match="UNIQUE"):
        await _add_workspace(sqlite_db, "one")
    async with sqlite_db.read() as session:
        rows = (await session.execute(text("SELECT id FROM workspace"))).all()
    assert [r[0] for r in rows] == ["one"]


# -- faults --------------------------------------------------------------------------------------------------

async def test_statements_after_sqlite_rolled_back_by_itself_are_refused(sqlite_db: Database,
                                                                         sqlite_url: str) -> None:
    """After SQLite rolls a transaction back on its own, the connection is in autocommit mode: a writer
    that caught the error and went on would have its later statements committed one by one, and then be
    told the write failed. They are refused instead, and nothing of the write is on disk."""
    _add_rollback_trigger(sqlite_url)
    with pytest.raises(TransactionLost):
        async with sqlite_db.write() as session:
            await session.execute(INSERT, {"id": "before", "name": "b", "at": NOW.isoformat()})
            with pytest.raises(IntegrityError, match="poisoned"):
                await session.execute(INSERT, {"id": "poison", "name": "p", "at": NOW.isoformat()})
            await session.execute(INSERT, {"id": "after", "name": "a", "at": NOW.isoformat()})
    assert _stored_names(sqlite_url) == set()
    assert _lock_is_free(sqlite_url)


async def test_a_write_whose_transaction_sqlite_rolled_back_is_reported_failed(sqlite_db: Database,
                                                                              sqlite_url: str) -> None:
    _add_rollback_trigger(sqlite_url)
    with pytest.raises(TransactionLost):
        async with sqlite_db.write() as session:
            await session.execute(INSERT, {"id": "before", "name": "b", "at": NOW.isoformat()})
            with pytest.raises(IntegrityError):  # the writer swallows the error and ends its block
                await session.execute(INSERT, {"id": "poison", "name": "p", "at": NOW.isoformat()})
    assert _stored_names(sqlite_url) == set()


async def test_writers_queued_behind_a_rolled_back_one_are_told_the_truth(sqlite_db: Database,
                                                                         sqlite_url: str) -> None:
    _add_rollback_trigger(sqlite_url)
    names = ["w0", "poison", "w2", "w3", "poison", "w5"]
    results = await asyncio.gather(*(_add_workspace(sqlite_db, n) if n != "poison" else _poisoned(sqlite_db, i)
                                     for i, n in enumerate(names)), return_exceptions=True)
    told_saved = {f"{n}{i}" if n == "poison" else n for (i, n), r in zip(enumerate(names), results, strict=True)
                  if not isinstance(r, BaseException)}
    assert told_saved == _stored_names(sqlite_url) == {"w0", "w2", "w3", "w5"}


async def _poisoned(db: Database, index: int) -> None:
    async with db.write() as session:
        await session.execute(INSERT, {"id": f"poison{index}", "name": "p", "at": NOW.isoformat()})
        await session.execute(INSERT, {"id": "poison", "name": "p", "at": NOW.isoformat()})


async def test_a_full_disk_fails_only_the_writers_whose_work_is_not_on_disk(sqlite_db: Database,
                                                                           sqlite_url: str) -> None:
    async def fill_the_disk() -> None:
        async with sqlite_db.write() as session:
            pages = (await session.execute(text("PRAGMA page_count"))).scalar_one()
            # From now on this connection may not grow the file: SQLite answers SQLITE_FULL.
            await session.execute(text(f"PRAGMA max_page_count={pages}"))
            for i in range(200):
                await session.execute(INSERT, {"id": f"big{i}", "name": "x" * 4000, "at": NOW.isoformat()})

    writers = [fill_the_disk(), *(_add_workspace(sqlite_db, f"w{i}", size=3000) for i in range(6))]
    results = await asyncio.gather(*writers, return_exceptions=True)
    assert isinstance(results[0], OperationalError) and "full" in str(results[0])
    told_saved = {f"w{i}" for i, r in enumerate(results[1:]) if not isinstance(r, BaseException)}
    assert told_saved == _stored_names(sqlite_url)  # every writer told "saved" is on disk, no other
    assert all(isinstance(r, OperationalError) for r in results[1:] if isinstance(r, BaseException))
    assert _lock_is_free(sqlite_url)


async def test_a_writer_cancelled_while_waiting_for_another_process_lets_go_at_once(
    sqlite_db: Database, sqlite_url: str
) -> None:
    with _another_process_holding_the_lock(sqlite_url):
        waiting = asyncio.create_task(_add_workspace(sqlite_db, "cancelled"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        waiting.cancel()  # a member's request timed out, say
        with pytest.raises(asyncio.CancelledError):
            # Guards, not waits: the cancelled writer ends, and the next one gets this process's turn, at
            # once (the old driver held the process's writer lock for the whole 10 s busy timeout).
            await asyncio.wait_for(waiting, timeout=2)
        queued = asyncio.create_task(_add_workspace(sqlite_db, "next"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not queued.done()  # waiting for the other process now, not for the cancelled writer
    await asyncio.wait_for(queued, timeout=2)
    assert _stored_names(sqlite_url) == {"next"}
    assert _lock_is_free(sqlite_url)


async def test_a_write_gives_up_on_a_lock_held_too_long_with_a_clear_error(
    sqlite_db: Database, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.db

    monkeypatch.setattr(storage.db, "SQLITE_LOCK_WAIT_SECONDS", 0.0)  # give up at the first busy answer
    with _another_process_holding_the_lock(sqlite_url), pytest.raises(OperationalError, match="locked"):
        await _add_workspace(sqlite_db, "refused")
    await _add_workspace(sqlite_db, "later")
    assert _stored_names(sqlite_url) == {"later"}
