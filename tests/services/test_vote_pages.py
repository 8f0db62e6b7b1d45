"""A vote's running tally, the views commands answer with (the binding ballots only), and the reading of a
whole vote a page at a time (verify, export) with the event loop running others in between; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

import bot.services.export as export_service
import bot.services.votes as vote_service
from bot.commands.dispatcher import Dispatcher
from bot.rules.votes import Tally
from bot.services import Services
from tests.helpers import Members, ok

GUESTS = 24  # non-binding voters: with pages of 4, six pages of ballots and seven of events


async def open_with_ballots(dispatcher: Dispatcher, members: Members, services: Services) -> int:
    await ok(dispatcher, members.chair("bob"), "/vote list")  # bob holds PMC when the vote opens
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC process"')
    vote_id = int(reply.data["vote"]["id"])
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} -1")
    for i in range(GUESTS):
        await services.votes.cast(members.member(f"guest{i}"), vote_id, ("+1", "0", "-0")[i % 3])
    return vote_id


async def loop_turns_during(work: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    """How many times a task that only counts and yields ran while ``work`` ran: that it runs at all
    shows ``work`` gives the loop back; how often, how many times it does."""
    turns = 0
    done = False

    async def spin() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(spin())
    await asyncio.sleep(0)
    before = turns
    try:
        result = await work()
    finally:
        done = True
        await task
    return turns - before, result


async def test_cast_keeps_the_running_tally_and_commands_read_only_binding_ballots(
        dispatcher: Dispatcher, members: Members, services: Services) -> None:
    vote_id = await open_with_ballots(dispatcher, members, services)
    await services.votes.cast(members.member("guest0"), vote_id, "-1")  # a change moves its count
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} +1")
    summary = await services.votes.summary("tvm", vote_id)
    full = await services.votes.status("tvm", vote_id)
    assert summary.tally == full.tally == (Tally(1, 0, 0), Tally(7, 16, 1))
    assert [b.voter for b in summary.ballots] == ["console:bob"]
    assert len(full.ballots) == GUESTS + 1
    assert summary.decision() == full.decision() and summary.not_voted() == full.not_voted()
    status = await ok(dispatcher, members.member("carol"), f"/vote status #{vote_id}")
    assert "Binding so far: 1 +1, 0 0, 0 -1 · non-binding: 7 +1, 16 0, 1 -1." in status.text
    assert (await services.votes.verify()).problem is None


async def test_verify_catches_a_running_tally_that_disagrees_with_the_ballots(
        dispatcher: Dispatcher, members: Members, services: Services) -> None:
    vote_id = await open_with_ballots(dispatcher, members, services)
    async with services.db.write() as session:
        await session.execute(text(f"UPDATE vote SET tally_other_plus = 99 WHERE id = {vote_id}"))
    problem = (await services.votes.verify()).problem
    assert problem is not None and f"vote #{vote_id}'s running tally" in problem.message


async def test_verify_and_export_let_the_event_loop_run_between_pages(
        dispatcher: Dispatcher, members: Members, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    vote_id = await open_with_ballots(dispatcher, members, services)
    await ok(dispatcher, members.chair("alice"), f"/vote close #{vote_id} force=yes")
    monkeypatch.setattr(vote_service, "PAGE", 4)
    monkeypatch.setattr(export_service, "JSON_PIECES", 50)
    pages = -(-(GUESTS + 1) // 4) + -(-(GUESTS + 3) // 4)  # of ballots, of events (open, ballots, close)

    turns, report = await loop_turns_during(services.votes.verify)
    assert report.problem is None and report.events == GUESTS + 3
    # Besides the pages it reads, the check of the chain itself pauses every 4 events.
    assert turns >= pages + (GUESTS + 3) // 4

    turns, exported = await loop_turns_during(services.export.as_json)
    assert f'"id": {vote_id}' in exported
    # ... and the JSON text (some 40 pieces per ballot or event) is encoded 50 pieces at a time.
    assert turns >= pages + GUESTS
