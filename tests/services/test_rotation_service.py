"""Rotation through the services and commands, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok, run

# Seed series: Wednesdays 08:00 America/Los_Angeles (16:00 UTC in March 2022), agenda closes 24 h before.
FIRST = datetime(2022, 3, 2, 16, 0, tzinfo=UTC)


async def _season_start(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    for name in ("bob", "carol", "dan"):
        await ok(dispatcher, members.member(name), "/rotation join host")
    for name in ("erin", "frank", "bob"):
        await ok(dispatcher, members.member(name), "/rotation join notes")


async def test_provisional_pick_shown_and_fixed_at_deadline(dispatcher: Dispatcher, members: Members,
                                                            services: Services, clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    nxt = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert nxt.data["meeting"]["provisional"] is True
    assert nxt.data["meeting"]["host"] == "console:bob"
    # bob hosts, so the note-taker is not bob even though he is on the notes roster
    assert nxt.data["meeting"]["note_taker"] == "console:erin"
    assert "Host: bob (provisional) · Note-taker: erin (provisional)" in nxt.text
    # an agenda that closes empty means no meeting (and no turn): this one has an item
    await ok(dispatcher, members.member("zoe"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')

    clock.set(FIRST - timedelta(hours=24))  # the agenda deadline
    assert await services.rotation.fix_due() == 1
    assert await services.rotation.fix_due() == 0  # idempotent
    nxt = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert nxt.data["meeting"]["provisional"] is False
    assert "Host: bob · Note-taker: erin" in nxt.text
    # the next meeting's provisional pick moves on to carol / frank
    listed = await ok(dispatcher, members.member("zoe"), "/rotation show")
    upcoming = listed.data["rotation"]["upcoming"]
    assert upcoming[0]["fixed"] is True and upcoming[0]["host"] == "console:bob"
    assert upcoming[1]["host"] == "console:carol" and upcoming[1]["note_taker"] == "console:frank"
    assert upcoming[2]["host"] == "console:dan"
    assert upcoming[3]["host"] == "console:bob"
    assert "fewest among" in upcoming[1]["host_reason"] or "tied on turns" in upcoming[1]["host_reason"]


async def test_fix_assignment_is_idempotent(dispatcher: Dispatcher, members: Members, services: Services,
                                           clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    clock.set(FIRST - timedelta(hours=23))
    async with services.db.write() as session:
        series = await services.meetings.series_in(session, "tvm", None)
        occurrence = (await services.meetings.upcoming_in(session, series, 1))[0]
        row = await services.meetings.stored(session, series, occurrence)
        await services.rotation.fix_assignment(session, series, row)
        first = (row.host, row.note_taker, row.assigned_at)
    await ok(dispatcher, members.member("bob"), "/rotation leave host")
    clock.advance(timedelta(minutes=5))
    async with services.db.write() as session:
        row = await services.meetings.stored(session, series, occurrence)
        await services.rotation.fix_assignment(session, series, row)
        assert (row.host, row.note_taker, row.assigned_at) == first


async def test_skip_passes_the_turn_and_cancelled_meeting_takes_none(dispatcher: Dispatcher, members: Members,
                                                                     clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
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
    await _season_start(dispatcher, members)
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
    await _season_start(dispatcher, members)
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
    await _season_start(dispatcher, members)
    reply = await ok(dispatcher, members.chair(), "/rotation assign 2022-03-02 host @dan")
    up = reply.data["rotation"]["upcoming"]
    assert up[0]["host"] == "console:dan" and "assigned by a chair" in up[0]["host_reason"]
    clash = await run(dispatcher, members.chair(), "/rotation assign 2022-03-02 notes @dan")
    assert not clash.ok and "must be two people" in clash.text


async def test_volunteer_takes_an_unfixed_turn(dispatcher: Dispatcher, members: Members,
                                               clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
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


async def test_notes_by_note_taker_and_minutes(dispatcher: Dispatcher, members: Members, services: Services,
                                               clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    added = await ok(dispatcher, members.member("carol"),
                     '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    item = added.data["item"]["id"]
    clock.set(FIRST + timedelta(minutes=10))
    # carol wrote an item, so the note-taker is erin (not involved)
    stranger = await run(dispatcher, members.member("frank"), '/notes add "I was there"')
    assert not stranger.ok
    assert stranger.text == ("Only the note-taker, the host or a chair may add notes for this meeting "
                             "(erin (note-taker), bob (host)): ask one of them.")
    await ok(dispatcher, members.member("erin"), f'/notes add "Everyone agrees on one meeting" item=#{item}')
    await ok(dispatcher, members.member("erin"), f'/notes add "Merge the meetings" item=#{item} kind=decision')
    await ok(dispatcher, members.member("bob"), f'/notes add "Update the calendar" item=#{item} owner=@carol')
    wrong_item = await run(dispatcher, members.member("erin"), '/notes add "x" item=#999')
    assert not wrong_item.ok and "#999 is not on the agenda" in wrong_item.text
    shown = await ok(dispatcher, members.member("zoe"), "/notes show")
    assert [n["kind"] for n in shown.data["notes"]] == ["note", "decision", "action"]
    assert shown.data["notes"][2]["owner"] == "console:carol"
    denied = await run(dispatcher, members.member("frank"), "/notes publish")
    assert not denied.ok
    published = await ok(dispatcher, members.member("erin"), "/notes publish")
    # The minutes go to the channel through the outbox; the command confirms privately.
    assert published.ephemeral and published.data["posted"] is True
    assert "## 1. Unify meetings" in published.data["markdown"]
    assert "### carol\n\n- [ ] Update the calendar (item 1)" in published.data["markdown"]
    exported = await services.export.as_dict()
    assert [n["text"] for n in exported["meetings"][0]["notes"]] == [
        "Everyone agrees on one meeting", "Merge the meetings", "Update the calendar"]
    markdown = await services.export.as_markdown()
    assert "### Minutes: TVM Community Meeting" in markdown
    # a day and a half after the end, notes need a date
    clock.advance(timedelta(hours=30))
    late = await run(dispatcher, members.member("erin"), '/notes add "late"')
    assert not late.ok and "name the meeting with date=YYYY-MM-DD" in late.text
    await ok(dispatcher, members.member("erin"), '/notes add "late" date=2022-03-02')


async def test_members_who_left_are_not_picked_and_rejoin_keeps_history(dispatcher: Dispatcher, members: Members,
                                                                       services: Services,
                                                                       clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    again = await run(dispatcher, members.member("bob"), "/rotation join host")
    assert not again.ok and again.text.startswith("You are already on the host roster")
    left = await ok(dispatcher, members.member("bob"), "/rotation leave host")
    assert all(u["host"] != "console:bob" for u in left.data["rotation"]["upcoming"])
    assert [r["member"] for r in left.data["rotation"]["rosters"]["host"]] == ["console:carol", "console:dan"]
    twice = await run(dispatcher, members.member("bob"), "/rotation leave host")
    assert not twice.ok and "nothing to leave" in twice.text


async def test_fixed_turn_cannot_be_skipped_but_can_be_swapped(dispatcher: Dispatcher, members: Members,
                                                               services: Services, clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
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


async def test_note_options_are_checked(dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    early = await run(dispatcher, members.member("erin"), '/notes add "too early" date=2022-03-02')
    assert not early.ok and "has not started yet" in early.text
    clock.set(FIRST + timedelta(minutes=5))
    mixed = await run(dispatcher, members.member("erin"), '/notes add "x" kind=decision owner=@bob')
    assert not mixed.ok and mixed.text == "owner= is for action items: add kind=action, or leave owner= out."
    chair = await ok(dispatcher, members.chair(), '/notes add "Chairs may write too" kind=decision')
    assert chair.data["count"] == 1


async def test_roster_counts_only_meetings_that_started(dispatcher: Dispatcher, members: Members,
                                                        clock: ManualClock) -> None:
    await _season_start(dispatcher, members)
    await ok(dispatcher, members.member("zoe"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
    hosts = shown.data["rotation"]["rosters"]["host"]
    assert {r["name"]: r["turns"] for r in hosts} == {"bob": 0, "carol": 0, "dan": 0}
    clock.set(FIRST + timedelta(hours=2))
    shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
    hosts = shown.data["rotation"]["rosters"]["host"]
    assert {r["name"]: r["turns"] for r in hosts} == {"bob": 1, "carol": 0, "dan": 0}
    assert "Host roster: bob (1 turn), carol (0 turns), dan (0 turns)" in shown.text
