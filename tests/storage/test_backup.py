"""Every row of every table dumped, restored into an empty database (SQLite or PostgreSQL), and dumped
again identically; the restored database keeps working (its vote log verifies, new records get new ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.services import Services
from storage import backup
from storage.db import Database
from tests.conftest import _reset_postgres
from tests.helpers import Members, ok
from tests.services.rotation_helpers import FIRST, season_start


async def _a_season(dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    added = await ok(dispatcher, members.member("carol"),
                     '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    vote = await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC process" rule=lazy-majority')
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote.data['vote']['id']} +1 \"fine by me\"")
    clock.set(FIRST + timedelta(minutes=10))
    await ok(dispatcher, members.member("erin"), f'/notes add "Merge the meetings" item=#{added.data["item"]["id"]} '
                                                 "kind=decision")
    await ok(dispatcher, members.member("erin"), "/notes publish")


@pytest.fixture
async def empty(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A second, empty, migrated database on the same engine as ``db``."""
    from storage.migrate import upgrade

    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    else:
        url = database_url.rsplit("/", 1)[0] + "/quorum_restore_test"
        await _recreate(url)
    await upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def _recreate(url: str) -> None:
    from sqlalchemy.engine import make_url

    from tests.conftest import _connect

    admin = await _connect(make_url(url).set(database="postgres").render_as_string(hide_password=False))
    try:
        name = make_url(url).database
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await _reset_postgres(url)


async def test_a_dump_restores_into_an_empty_database_and_dumps_again_identically(
        services: Services, dispatcher: Dispatcher, members: Members, clock: ManualClock, settings: Settings,
        empty: Database) -> None:
    await _a_season(dispatcher, members, clock)
    async with services.db.read() as session:
        original = await backup.dump(session)
    assert {name for name, rows in original.items() if rows} >= {"series", "meeting", "agendaitem", "vote",
                                                                 "ballot", "vote_event", "meetingnote", "outbox"}
    async with empty.write() as session:
        restored = await backup.restore(session, original)
    assert restored == {name: len(rows) for name, rows in original.items()}
    async with empty.read() as session:
        assert await backup.dump(session) == original

    again = build_services(empty, clock, settings)
    report = await again.vote_audit.verify()
    assert report.problem is None and report.votes == 1 and report.events >= 2
    follow_up = await ok(Dispatcher(again), members.member("carol"),
                         '/agenda add "Release plan" https://discuss.tvm.apache.org/t/12172')
    assert follow_up.data["item"]["id"] > max(row["id"] for row in original["agendaitem"])


async def test_a_dump_from_another_version_is_refused_naming_what_differs(empty: Database) -> None:
    async with empty.write() as session:
        with pytest.raises(ValueError, match="tables this version does not have: gadget"):
            await backup.restore(session, {"gadget": [{"id": 1}]})
        with pytest.raises(ValueError, match="workspace has no column 'colour'"):
            await backup.restore(session, {"workspace": [{"id": "x", "colour": "red"}]})
