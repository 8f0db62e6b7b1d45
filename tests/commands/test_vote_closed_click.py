"""A click on a vote message drawn while the vote was open, after it closed: refused, nothing stored,
and the reply carries the result so adapters redraw the stale message."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import Members, ok, run


async def test_cast_on_a_closed_vote_refreshes_its_message_as_the_result(
    dispatcher: Dispatcher, members: Members, services: Services, clock: ManualClock
) -> None:
    opened = await ok(dispatcher, members.chair(), '/vote open "Adopt the roadmap" rule=lazy-majority')
    vote_id = opened.data["vote"]["id"]
    await ok(dispatcher, members.chair(), f"/vote cast #{vote_id} +1")
    clock.advance(timedelta(hours=73))  # past the 72 h deadline: the next command closes it as of then
    late = await run(dispatcher, members.member("bob"), f"/vote cast #{vote_id} +1")
    assert not late.ok and f"Vote #{vote_id}" in late.text and "closed" in late.text
    result = late.refresh
    assert result is not None
    assert result.as_plain_text().startswith("[RESULT][VOTE] Adopt the roadmap") and not result.buttons
    view = await services.votes.status("tvm", vote_id)
    assert [b.voter for b in view.ballots] == ["console:alice"]


async def test_other_refusals_on_an_open_vote_carry_no_refresh(dispatcher: Dispatcher, members: Members) -> None:
    opened = await ok(dispatcher, members.chair(), '/vote open "Adopt the roadmap" rule=consensus')
    veto = await run(dispatcher, members.chair(), f"/vote cast #{opened.data['vote']['id']} -1")
    assert not veto.ok and "veto" in veto.text and "refresh" not in veto.data
    assert veto.refresh is None
