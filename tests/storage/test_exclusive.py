"""``Database.exclusive``: on PostgreSQL two processes (two engines here) never hold the same name at once:
the second is told at once that another holds it (and skips: it never waits), gets it once the first lets
go, and other names are free meanwhile. (SQLite serves one process, and takes no lock.)"""

from __future__ import annotations

import asyncio

import pytest

from storage.db import Database

NAME = "quorum:event-mirror:discord:1"


@pytest.fixture
def postgres(postgres_migrated: str | None) -> str:
    if postgres_migrated is None:
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    return postgres_migrated


async def test_a_second_process_is_told_another_holds_it_until_the_first_lets_go(postgres: str) -> None:
    first, second = Database(postgres), Database(postgres)
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold() -> bool:
        async with first.exclusive(NAME) as got:
            entered.set()
            await release.wait()
            return got

    try:
        holding = asyncio.create_task(hold())
        await entered.wait()
        async with asyncio.timeout(5):  # told at once, never left waiting
            async with second.exclusive(NAME) as got:
                assert got is False
            async with second.exclusive("quorum:event-mirror:discord:2") as other:
                assert other is True  # another name is free meanwhile
        release.set()
        assert await holding is True
        async with second.exclusive(NAME) as got:
            assert got is True  # let go: the next one gets it
    finally:
        for db in (first, second):
            await db.dispose()


async def test_sqlite_always_gets_it(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.exclusive(NAME) as got, db.exclusive(NAME) as again:
            assert got is True and again is True  # one process: its callers serialise themselves
    finally:
        await db.dispose()
