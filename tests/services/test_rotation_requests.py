"""Rotation requests through the commands (bot/services/rotation_requests.py): rosters, skips, swaps,
a chair's assignment and volunteering, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import Members, ok, run
from tests.services.rotation_helpers import FIRST, season_start


async def test_skip_passes_the_turn_and_cancelled_meeting_takes_none(dispatcher: Dispatcher, members: Members,
                                                                     clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    reply = await ok(dispatcher, members.member("bob"), "/rotation skip 2022-03-02")
    first = reply.data["rotation"]["upcoming"][0]
    assert first["host"] == "console:carol"
    assert "bob skipped" in first["host_reason"]
    # bob owes the turn: he hosts the next meeting
    assert reply.data["rotation"]["upcoming"][1]["host"] == "console:bob"
    await ok(dispatcher, members.chair(), "/meeting cancel 2022-03-09")
    shown = await ok(dispatcher, members.member("bob"), "/rotation show")
    up = shown.data["rotation"]["upcoming"]
    assert up[1]["cancelled"] is True
    assert up[2]["host"] == "console:bob"  # the cancelled meeting consumed no turn


async def test_swap_must_be_accepted_by_the_member_it_is_offered_to(dispatcher: Dispatcher, members: Members,
                                                                    services: Services) -> None:
    await season_start(dispatcher, members)
    proposed = await ok(dispatcher, members.member("bob"), "/rotation swap 2022-03-02 @dan")
    swap_id = proposed.data["swap"]["id"]
    before = await ok(dispatcher, members.member("bob"), "/rotation show")
    wrong = await run(dispatcher, members.member("carol"), f"/rotation accept #{swap_id}")
    assert not wrong.ok
    assert wrong.text == f"Swap #{swap_id} was offered to dan, not to you: only they can accept it."
    after = await ok(dispatcher, members.member("bob"), "/rotation show")
    assert after.data == before.data
    accepted = await ok(dispatcher, members.member("dan"), f"/rotation accept #{swap_id}")
    up = accepted.data["rotation"]["upcoming"]
    assert up[0]["host"] == "console:dan"
    assert "took the turn of bob" in up[0]["host_reason"]
    assert up[1]["host"] == "console:bob"  # bob takes the next turn, so the counts even out


async def test_bad_input_changes_nothing(dispatcher: Dispatcher, members: Members, services: Services,
                                         clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    before = await ok(dispatcher, members.member("bob"), "/rotation show")
    not_meeting = await run(dispatcher, members.member("bob"), "/rotation skip 2022-03-03")
    assert not not_meeting.ok
    assert not_meeting.text.startswith("TVM Community Meeting has no meeting on Thu 2022-03-03")
    stranger = await run(dispatcher, members.member("bob"), "/rotation swap 2022-03-02 @zed")
    assert not stranger.ok
    assert stranger.text.startswith("zed is not on the host roster of TVM Community Meeting")
    not_mine = await run(dispatcher, members.member("carol"), "/rotation swap 2022-03-02 @dan")
    assert not not_mine.ok and "you have no turn to swap" in not_mine.text
    not_chair = await run(dispatcher, members.member("bob"), "/rotation assign 2022-03-02 host @dan")
    assert not not_chair.ok and "is for chairs" in not_chair.text
    after = await ok(dispatcher, members.member("bob"), "/rotation show")
    assert after.data == before.data


async def test_chair_assignment_overrides(dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    reply = await ok(dispatcher, members.chair(), "/rotation assign 2022-03-02 host @dan")
    up = reply.data["rotation"]["upcoming"]
    assert up[0]["host"] == "console:dan" and "assigned by a chair" in up[0]["host_reason"]
    clash = await run(dispatcher, members.chair(), "/rotation assign 2022-03-02 notes @dan")
    assert not clash.ok and "must be two people" in clash.text


async def test_volunteer_takes_an_unfixed_turn(dispatcher: Dispatcher, members: Members,
                                               clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    outsider = await run(dispatcher, members.member("zoe"), "/rotation volunteer 2022-03-02 host")
    assert not outsider.ok and "Only members of the host roster can volunteer" in outsider.text
    took = await ok(dispatcher, members.member("dan"), "/rotation volunteer 2022-03-02 host")
    up = took.data["rotation"]["upcoming"]
    assert up[0]["host"] == "console:dan"
    # bob, whom the fair pick had chosen, keeps his place: he hosts the next meeting
    assert up[1]["host"] == "console:bob"
    again = await run(dispatcher, members.member("dan"), "/rotation volunteer 2022-03-02 host")
    assert not again.ok and "already host" in again.text
    both = await run(dispatcher, members.member("bob"), "/rotation volunteer 2022-03-02 notes")
    assert both.ok  # bob is on the notes roster and not the host of 2022-03-02 any more
    clash = await run(dispatcher, members.member("bob"), "/rotation volunteer 2022-03-02 host")
    assert not clash.ok and "must be two people" in clash.text
    await ok(dispatcher, members.member("zoe"), '/agenda add "Item" https://discuss.tvm.apache.org/t/1')
    clock.set(FIRST - timedelta(hours=23))  # past the agenda deadline: the turn is fixed
    late = await run(dispatcher, members.member("carol"), "/rotation volunteer 2022-03-02 host")
    assert not late.ok and "already fixed" in late.text


async def test_members_who_left_are_not_picked_and_rejoin_keeps_history(dispatcher: Dispatcher, members: Members,
                                                                       services: Services,
                                                                       clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    again = await run(dispatcher, members.member("bob"), "/rotation join host")
    assert not again.ok and again.text.startswith("You are already on the host roster")
    left = await ok(dispatcher, members.member("bob"), "/rotation leave host")
    assert all(u["host"] != "console:bob" for u in left.data["rotation"]["upcoming"])
    assert [r["member"] for r in left.data["rotation"]["rosters"]["host"]] == ["console:carol", "console:dan"]
    twice = await run(dispatcher, members.member("bob"), "/rotation leave host")
    assert not twice.ok and "nothing to leave" in twice.text


async def test_fixed_turn_cannot_be_skipped_but_can_be_swapped(dispatcher: Dispatcher, members: Members,
                                                               services: Services, clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    await ok(dispatcher, members.member("zoe"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    clock.set(FIRST - timedelta(hours=2))
    skip = await run(dispatcher, members.member("bob"), "/rotation skip 2022-03-02")
    assert not skip.ok and skip.text.startswith("You were fixed as host of Wed 2022-03-02 08:00 PST")
    proposed = await ok(dispatcher, members.member("bob"), "/rotation swap 2022-03-02 @carol")
    await ok(dispatcher, members.member("carol"), f"/rotation accept #{proposed.data['swap']['id']}")
    twice = await run(dispatcher, members.member("carol"), f"/rotation accept #{proposed.data['swap']['id']}")
    assert not twice.ok and twice.text.endswith("was already accepted.")
    nxt = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert nxt.data["meeting"]["host"] == "console:carol" and nxt.data["meeting"]["provisional"] is False
    clock.set(FIRST + timedelta(hours=3))
    started = await run(dispatcher, members.member("dan"), "/rotation skip 2022-03-02")
    assert not started.ok and "has already started" in started.text
