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


async def test_concurrent_adds_and_votes_get_distinct_numbers_per_workspace(dispatcher: Dispatcher,
                                                                           members: Members) -> None:
    # Numbers come from a counter row per workspace, taken in each insert's transaction: writers racing in
    # two workspaces get 1..n in each, with no gap and no duplicate (the unique index would refuse one).
    other = Members(members.settings, workspace="other")
    for team in (members, other):
        await ok(dispatcher, team.chair(), SEED_SERIES)
        await ok(dispatcher, team.member("m0"), '/agenda add "Item 0" https://github.com/o/r/issues/0')
    replies = await asyncio.gather(*(
        dispatcher.run_text(f'/agenda add "Item {i}" https://github.com/o/r/issues/{i}', team.member(f"m{i}"))
        for i in range(1, 11) for team in (members, other)
    ), *(dispatcher.run_text(f'/vote open "Vote {i}"', team.chair()) for i in range(6) for team in (members, other)))
    assert all(r.ok for r in replies), [r.text for r in replies if not r.ok]
    for team in (members, other):
        listed = await ok(dispatcher, team.member(), "/agenda list")
        assert sorted(i["number"] for i in listed.data["meeting"]["agenda"]) == list(range(1, 12))
        votes = await ok(dispatcher, team.member(), "/vote list")
        assert sorted(v["number"] for v in votes.data["votes"]) == list(range(1, 7))
