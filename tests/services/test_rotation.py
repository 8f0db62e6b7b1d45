"""Rotation planning through the services and commands (bot/services/rotation.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import Members, ok
from tests.services.rotation_helpers import FIRST, season_start


async def test_provisional_pick_shown_and_fixed_at_deadline(dispatcher: Dispatcher, members: Members,
                                                            services: Services, clock: ManualClock) -> None:
    await season_start(dispatcher, members)
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
    await season_start(dispatcher, members)
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


async def test_roster_counts_only_meetings_that_started(dispatcher: Dispatcher, members: Members,
                                                        clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    await ok(dispatcher, members.member("zoe"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
    hosts = shown.data["rotation"]["rosters"]["host"]
    assert {r["name"]: r["turns"] for r in hosts} == {"bob": 0, "carol": 0, "dan": 0}
    clock.set(FIRST + timedelta(hours=2))
    shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
    hosts = shown.data["rotation"]["rosters"]["host"]
    assert {r["name"]: r["turns"] for r in hosts} == {"bob": 1, "carol": 0, "dan": 0}
    assert "Host roster: bob (1 turn), carol (0 turns), dan (0 turns)" in shown.text
