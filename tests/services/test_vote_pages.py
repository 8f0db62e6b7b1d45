"""A vote's running tally, the views commands answer with (the binding ballots only), and the reading of a
whole vote a page at a time (verify, export) with the event loop running others in between; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

import bot.services.export as export_service
import bot.services.vote_audit as vote_audit
from bot.commands.dispatcher import Dispatcher
from bot.rules.votes import Tally
from bot.services import Services
from tests.helpers import Members, ok

PAGE = 2  # rows per page in the test of the pages
GUESTS = 24  # non-binding voters: with pages of 2, thirteen pages of ballots and fourteen of events


async def open_with_ballots(dispatcher: Dispatcher, members: Members, services: Services) -> int:
    await ok(dispatcher, members.chair("bob"), "/vote list")  # bob holds PMC when the vote opens
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC process"')
    vote_id = int(reply.data["vote"]["id"])
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} -1")
    for i in range(GUESTS):
        await services.votes.cast(members.member(f"guest{i}"), vote_id, ("+1", "0", "-0")[i % 3])
    return vote_id


class Trace:
    """While ``work`` runs: every SQL statement sent (from SQLAlchemy's public ``before_cursor_execute``
    event, on every engine), and between them how many times a task that only counts and yields ran.
    Each entry is (turns of that task so far, statement)."""

    def __init__(self) -> None:
        self.turns = 0
        self.ended = 0
        self.statements: list[tuple[int, str]] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append((self.turns, " ".join(statement.split())))

    async def during(self, work: Callable[[], Awaitable[Any]]) -> Any:
        done = False

        async def spin() -> None:
            while not done:
                self.turns += 1
                await asyncio.sleep(0)

        event.listen(Engine, "before_cursor_execute", self._seen)
        task = asyncio.create_task(spin())
        await asyncio.sleep(0)
        try:
            result = await work()
        finally:
            done = True
            await task
            event.remove(Engine, "before_cursor_execute", self._seen)
        self.ended = self.turns
        return result

    def pages(self, table: str) -> list[int]:
        """When each page of ``table`` was asked for (the task's turns so far)."""
        return [turns for turns, sql in self.statements if f"FROM {table} WHERE" in sql and "LIMIT" in sql]

    def turns_after(self, turns: int) -> int:
        """How many times the task ran from ``turns`` until the next statement (or the end)."""
        return next((t for t, _ in self.statements if t > turns), self.ended) - turns


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
    assert (await services.vote_audit.verify()).problem is None


async def test_verify_catches_a_running_tally_that_disagrees_with_the_ballots(
        dispatcher: Dispatcher, members: Members, services: Services) -> None:
    vote_id = await open_with_ballots(dispatcher, members, services)
    async with services.db.write() as session:
        await session.execute(text(f"UPDATE vote SET tally_other_plus = 99 WHERE id = {vote_id}"))
    problem = (await services.vote_audit.verify()).problem
    assert problem is not None and f"vote #{vote_id}: its running tally (non_binding +1) is 99" in problem.message


async def test_verify_and_export_read_a_vote_a_page_at_a_time_and_let_the_loop_run_in_between(
        dispatcher: Dispatcher, members: Members, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    vote_id = await open_with_ballots(dispatcher, members, services)
    await ok(dispatcher, members.chair("alice"), f"/vote close #{vote_id} force=yes")
    await ok(dispatcher, members.chair("alice"), '/vote open "A second vote"')  # read after the first
    monkeypatch.setattr(vote_audit, "PAGE", PAGE)
    monkeypatch.setattr(export_service, "JSON_PIECES", 50)
    ballots, events = GUESTS + 1, GUESTS + 3  # and the events: open, the ballots, close
    # Each page is its own query, the last one finding nothing.
    pages = {"ballot": -(-ballots // PAGE) + 1, "vote_event": -(-events // PAGE) + 1}

    trace = Trace()
    report = await trace.during(services.vote_audit.verify)
    assert report.problem is None and report.events == events + 1
    for table, count in pages.items():
        asked = trace.pages(table)[:count]  # the first vote's (the second's follow)
        assert len(asked) == count, f"{table} read in {len(asked)} queries"
        # Others ran between any two pages.
        assert all(later > earlier for earlier, later in pairwise(asked)), asked
    # Once the first vote's log is read, the check of its chain against its tables (25 ballots) pauses
    # after every 2 ballots, twice over, before the second vote is read (reading a page alone gives the
    # loop a few turns, far fewer).
    steps = trace.turns_after(trace.pages("vote_event")[pages["vote_event"] - 1])
    assert steps >= 2 * (ballots // PAGE)

    trace = Trace()
    exported = await trace.during(services.export.as_json)
    assert f'"id": {vote_id}' in exported
    for table, count in pages.items():
        asked = trace.pages(table)[:count]
        assert len(asked) == count and all(b > a for a, b in pairwise(asked)), asked
    # After the last query, the JSON text (some 40 pieces per ballot or event) is encoded 50 pieces at a
    # time, the loop running others in between.
    encoding = trace.turns_after(trace.statements[-1][0])
    assert encoding >= (ballots + events) * 40 // 50 // 2
