"""The rotation replay resumed from checkpoints picks exactly as a replay of the whole history, and a
series that never used rotation replays nothing (issue 13, item 4). On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from bot.services.rotation import RotationPlan
from bot.services.views import SeriesInfo
from tests.helpers import SEED_SERIES, Members, ok, run

FIRST = date(2022, 3, 2)  # the seed series' first Wednesday (08:00 Los Angeles)
PEOPLE = ("bob", "carol", "dan", "erin", "frank", "gina")


async def _plans(services: Services, series: SeriesInfo, until: datetime,
                 since: datetime | None) -> tuple[RotationPlan, RotationPlan]:
    async with services.db.read() as session:
        fast = await services.rotation.plan(session, series, until, since)
        full = await services.rotation.plan(session, series, until, since, checkpoints=False)
    return fast, full


def _assert_same(fast: RotationPlan, full: RotationPlan, since: datetime) -> None:
    assert fast.counts == full.counts
    replayed = {p.occurrence.key: p.assignment for p in full.meetings}
    for planned in fast.meetings:
        assert planned.assignment == replayed[planned.occurrence.key], planned.occurrence.key
    wanted = {p.occurrence.key for p in full.meetings if p.occurrence.starts_at >= since}
    assert wanted <= {p.occurrence.key for p in fast.meetings}


async def test_checkpointed_replay_equals_full_replay_over_a_random_history(
        dispatcher: Dispatcher, members: Members, services: Services, clock: ManualClock) -> None:
    rng = random.Random(13)
    await ok(dispatcher, members.chair(), SEED_SERIES)
    on_roster: dict[str, set[str]] = {"host": set(), "notes": set()}
    series = await services.meetings.resolve_series("tvm", None)
    checked_with_checkpoint = 0
    for week in range(60):
        day = FIRST + timedelta(weeks=week)
        nxt = day + timedelta(weeks=1)
        # Roster changes, then the week's agenda, skips, a chair's word, swaps and cancellations.
        for _ in range(rng.randint(0, 2)):
            duty, name = rng.choice(("host", "notes")), rng.choice(PEOPLE)
            if name in on_roster[duty] and rng.random() < 0.4:
                await ok(dispatcher, members.member(name), f"/rotation leave {duty}")
                on_roster[duty].discard(name)
            elif name not in on_roster[duty]:
                await ok(dispatcher, members.member(name), f"/rotation join {duty}")
                on_roster[duty].add(name)
        for i in range(rng.choice((0, 1, 1, 2, 3))):  # no item: the meeting is cancelled at its deadline
            author = rng.choice((*PEOPLE, "zoe"))
            # (refused when a chair cancelled the meeting last week)
            await run(dispatcher, members.member(author), f'/agenda add "Topic {week}-{i}" '
                                                          f"https://discuss.tvm.apache.org/t/{week}{i} date={day}")
        roster = sorted(on_roster["host"] | on_roster["notes"])
        if roster and rng.random() < 0.3:
            await run(dispatcher, members.member(rng.choice(roster)), f"/rotation skip {rng.choice((day, nxt))}")
        if on_roster["host"] and rng.random() < 0.15:
            await run(dispatcher, members.chair(),
                      f"/rotation assign {day} host @{rng.choice(sorted(on_roster['host']))}")
        if rng.random() < 0.2:
            shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
            upcoming = shown.data["rotation"]["upcoming"][0]
            giver = upcoming["note_taker"]
            others = sorted(on_roster["notes"] - {str(giver).split(":")[-1]})
            if giver and others:
                taker = rng.choice(others)
                offered = await run(dispatcher, members.actor(str(giver).split(":")[-1]),
                                    f"/rotation swap {day} @{taker}")
                if offered.ok:
                    await run(dispatcher, members.member(taker), f"/rotation accept #{offered.data['swap']['id']}")
        if rng.random() < 0.1:
            await run(dispatcher, members.chair(), f"/meeting cancel {nxt}")
        # The deadline passes (the fix comes before the meeting, or late after it); now and then the bot is
        # off and fixes nothing that week.
        late = rng.choice((1, 6))
        clock.advance(timedelta(days=1, hours=late))
        if rng.random() < 0.85:
            await services.rotation.fix_due()
        clock.advance(timedelta(days=6) - timedelta(hours=late))

        now = clock.now()
        until = now + timedelta(weeks=rng.randint(1, 5))
        for since in (None, now - timedelta(weeks=rng.randint(0, week + 1)), now):
            fast, full = await _plans(services, series, until, since)
            _assert_same(fast, full, since or until)
            if len(fast.meetings) < len(full.meetings):
                checked_with_checkpoint += 1
    # The comparison is not vacuous: most of it resumed from a checkpoint.
    assert checked_with_checkpoint > 100
    fast, full = await _plans(services, series, clock.now() + timedelta(weeks=4), None)
    assert len(fast.meetings) <= 6 < 60 <= len(full.meetings)


async def test_a_series_without_rotation_replays_nothing(dispatcher: Dispatcher, members: Members,
                                                         services: Services, clock: ManualClock) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    for week in range(3):
        await ok(dispatcher, members.member("zoe"), f'/agenda add "Topic {week}" https://discuss.tvm.apache.org/t/{week}')
        clock.advance(timedelta(days=1, hours=1))  # past the deadline, before the meeting
        async with services.db.write() as session:  # what the deadline step's hook does
            series = await services.meetings.series_in(session, "tvm", None)
            occurrence = (await services.meetings.upcoming_in(session, series, 1))[0]
            await services.rotation.fix_assignment(session, series, await services.meetings.stored(
                session, series, occurrence))
        clock.advance(timedelta(days=5, hours=23))
    async with services.db.read() as session:
        plan = await services.rotation.plan(session, series, clock.now() + timedelta(weeks=4))
    assert plan.meetings == []
    nxt = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert nxt.data["meeting"]["provisional"] is False and nxt.data["meeting"]["host"] is None

    # A chair's assignment is rotation: it shows before the deadline and is fixed at it.
    day = FIRST + timedelta(weeks=3)
    await ok(dispatcher, members.chair(), f"/rotation assign {day} host @dan")
    nxt = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert nxt.data["meeting"]["host"] == "console:dan" and nxt.data["meeting"]["provisional"] is True
    assert clock.now() < datetime(2022, 3, 23, 15, tzinfo=UTC)
