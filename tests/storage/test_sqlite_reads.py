"""SQLite's read path: reads begin DEFERRED on connections of their own with ``query_only``
(storage/db.py), so in WAL mode they never wait for a writer and hold nothing between reads."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from storage.db import Database


async def _workspaces(db: Database) -> list[str]:
    async with db.read() as session:
        return [r[0] for r in (await session.execute(text("SELECT id FROM workspace ORDER BY id"))).all()]


async def test_a_read_sees_what_another_process_committed_after_the_previous_read(sqlite_db: Database,
                                                                                  sqlite_url: str) -> None:
    assert await _workspaces(sqlite_db) == []
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as other:
        other.execute("INSERT INTO workspace (id, platform, name, created_at) "
                      "VALUES ('later', 'console', 'later', '2022-03-01T12:00:00')")
    assert await _workspaces(sqlite_db) == ["later"]


async def test_a_pooled_read_connection_holds_no_snapshot_between_reads(sqlite_db: Database,
                                                                        sqlite_url: str) -> None:
    await _workspaces(sqlite_db)
    path = make_url(sqlite_url).database
    assert path
    # A checkpoint that must wait for no reader completes in full (busy would be 1 if a read were open).
    with sqlite3.connect(path, timeout=0, isolation_level=None) as other:
        other.execute("INSERT INTO workspace (id, platform, name, created_at) "
                      "VALUES ('w', 'console', 'w', '2022-03-01T12:00:00')")
        busy, _log, _done = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


async def test_a_read_that_raises_ends_its_transaction_and_the_connection_serves_the_next(
    sqlite_db: Database,
) -> None:
    with pytest.raises(OperationalError, match="no such table"):
        async with sqlite_db.read() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    with pytest.raises(LookupError):
        async with sqlite_db.read() as session:
            await session.execute(text("SELECT 1"))
            raise LookupError("a service's own error, e.g. NotFound")
    assert await _workspaces(sqlite_db) == []


async def test_a_read_does_not_wait_for_another_process_writing(sqlite_db: Database, sqlite_url: str) -> None:
    path = make_url(sqlite_url).database
    assert path
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock, with an uncommitted row
    other.execute("INSERT INTO workspace (id, platform, name, created_at) "
                  "VALUES ('uncommitted', 'console', 'u', '2022-03-01T12:00:00')")
    try:
        # Reads begin DEFERRED: no lock wanted, so no wait (an IMMEDIATE begin would wait 10 s, then fail).
        assert await asyncio.wait_for(_workspaces(sqlite_db), timeout=5) == []
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_a_write_inside_a_read_fails_instead_of_vanishing(sqlite_db: Database, sqlite_url: str) -> None:
    # A read ends with a rollback: a write there would be thrown away without a word, so it is refused.
    with pytest.raises(OperationalError, match="readonly"):
        async with sqlite_db.read() as session:
            await session.execute(text("INSERT INTO workspace (id, platform, name, created_at) "
                                       "VALUES ('w', 'console', 'w', '2022-03-01T12:00:00')"))
    assert await _workspaces(sqlite_db) == []
