"""Concurrent writers: no lost updates, no duplicate positions, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok


async def test_concurrent_adds_get_distinct_positions(dispatcher: Dispatcher, members: Members,
                                                      services: Services) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    # The first add creates the meeting row; the rest race on the same meeting.
    await ok(dispatcher, members.member("m0"), '/agenda add "Item 0" https://github.com/o/r/issues/0')
    replies = await asyncio.gather(*(
        dispatcher.run_text(f'/agenda add "Item {i}" https://github.com/o/r/issues/{i}', members.member(f"m{i}"))
        for i in range(1, 21)
    ))
    assert all(r.ok for r in replies), [r.text for r in replies if not r.ok]
    listed = await services.agenda.list("tvm")
    assert sorted(i.position for i in listed.agenda) == list(range(1, 22))


async def test_same_link_at_once_is_stored_once(dispatcher: Dispatcher, members: Members,
                                                services: Services) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    replies = await asyncio.gather(*(
        dispatcher.run_text('/agenda add "Same" https://github.com/o/r/issues/7', members.member(f"m{i}"))
        for i in range(8)
    ))
    assert sum(r.ok for r in replies) == 1
    assert all("already on this agenda" in r.text or "just added" in r.text for r in replies if not r.ok)
    listed = await services.agenda.list("tvm")
    assert len(listed.agenda) == 1
