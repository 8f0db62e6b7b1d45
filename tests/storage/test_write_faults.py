"""Write faults that apply to both databases (storage/db.py): nested writes, a process killed between
its commit and its reply, or in the middle of a write."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database, NestedWrite

ROOT = Path(__file__).resolve().parents[2]
INSERT = text("INSERT INTO workspace (id, platform, name, created_at) "
              "VALUES (:id, 'console', :id, '2022-03-01T12:00:00')")


async def _names(db: Database) -> set[str]:
    async with db.read() as session:
        return {r[0] for r in (await session.execute(text("SELECT id FROM workspace"))).all()}


async def test_a_nested_write_is_refused_at_once_and_changes_nothing(db: Database) -> None:
    async def nest() -> None:
        async with db.write() as session:
            await session.execute(INSERT, {"id": "outer"})
            async with db.write() as inner:
                await inner.execute(INSERT, {"id": "inner"})

    with pytest.raises(NestedWrite, match="use the outer write's session"):
        await asyncio.wait_for(nest(), timeout=10)  # a guard: it used to hang forever on SQLite
    assert await _names(db) == set()
    async with db.write() as session:  # the write path is free again
        await session.execute(INSERT, {"id": "after"})
    assert await _names(db) == {"after"}


async def test_a_task_started_inside_a_write_writes_on_its_own(db: Database) -> None:
    async def add(name: str) -> None:
        async with db.write() as session:
            await session.execute(INSERT, {"id": name})

    async with db.write() as session:
        await session.execute(INSERT, {"id": "outer"})
        background = asyncio.create_task(add("background"))  # e.g. a listener started meanwhile
    await asyncio.wait_for(background, timeout=10)
    assert await _names(db) == {"outer", "background"}


async def test_a_read_inside_a_write_sees_only_what_is_committed(db: Database) -> None:
    async with db.write() as session:
        await session.execute(INSERT, {"id": "uncommitted"})
        assert await _names(db) == set()
    assert await _names(db) == {"uncommitted"}


_KILLED = textwrap.dedent("""
    import asyncio, os, signal, sys
    from sqlalchemy import text
    from storage.db import Database

    async def main(url: str, when: str) -> None:
        db = Database(url)
        async with db.write() as session:
            await session.execute(text("INSERT INTO workspace (id, platform, name, created_at) "
                                       "VALUES ('acknowledged', 'console', 'a', '2022-03-01T12:00:00')"))
            if when == "inside":
                os.kill(os.getpid(), signal.SIGKILL)
        # write() returned: the member is about to be told "saved". The process dies before replying.
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


@pytest.mark.parametrize("when", ["after-commit", "inside"])
async def test_a_process_killed_keeps_what_it_committed_and_nothing_else(db: Database, database_url: str,
                                                                        when: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED, database_url, when, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == -signal.SIGKILL, stderr.decode()
    # Committed before the kill: durable (SQLite synchronous=FULL). Killed inside: nothing of it.
    assert await _names(db) == ({"acknowledged"} if when == "after-commit" else set())
    async with db.write() as session:  # and the killed writer left no lock behind
        await session.execute(INSERT, {"id": "next"})
