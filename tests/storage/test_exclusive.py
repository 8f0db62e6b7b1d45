"""``Database.exclusive``: on PostgreSQL two processes (two engines here) never hold the same name at once:
the second waits until the first lets go; different names do not wait for each other. (SQLite serves one
process, and takes no lock.)"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from storage.db import Database


async def _waiting_for_advisory_locks(db: Database) -> int:
    async with db.read() as session:
        found = await session.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
        return int(found.scalar_one())


@pytest.fixture
def postgres(postgres_migrated: str | None) -> str:
    if postgres_migrated is None:
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    return postgres_migrated


async def test_a_second_process_waits_for_the_first_to_let_go(postgres: str) -> None:
    first, second, observer = Database(postgres), Database(postgres), Database(postgres)
    entered: list[str] = []

    async def hold(db: Database, who: str, name: str, until: asyncio.Event) -> None:
        async with db.exclusive(name):
            entered.append(who)
            await until.wait()

    release_first, release_second = asyncio.Event(), asyncio.Event()
    try:
        one = asyncio.create_task(hold(first, "first", "quorum:event-mirror:discord:1", release_first))
        while entered != ["first"]:  # noqa: ASYNC110  (yielding to the task, not waiting for time)
            await asyncio.sleep(0)
        two = asyncio.create_task(hold(second, "second", "quorum:event-mirror:discord:1", release_second))
        while await _waiting_for_advisory_locks(observer) != 1:  # the second is queued on the lock
            pass
        async with asyncio.timeout(5), observer.exclusive("quorum:event-mirror:discord:2"):
            assert entered == ["first"]  # another name is free meanwhile
        release_first.set()
        await one
        while entered != ["first", "second"]:  # noqa: ASYNC110
            await asyncio.sleep(0)
        release_second.set()
        await two
    finally:
        for db in (first, second, observer):
            await db.dispose()
