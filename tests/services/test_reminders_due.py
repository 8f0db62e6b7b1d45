"""The tick plans only the series whose planning is due (``series.plan_at``), and every change that
affects a series' messages makes it due, also when another process made the change."""

from __future__ import annotations

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.services import Services
from storage.db import Database
from storage.queries import plans as plans_q
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, tick


async def _due(services: Services) -> list[int]:
    async with services.db.read() as session:
        return await plans_q.due_series(session, services.clock.now())


async def test_after_a_tick_nothing_is_due_until_the_next_step(dispatcher: Dispatcher, services: Services,
                                                               members: Members, clock: ManualClock) -> None:
    services.notifiers["console"] = RecordingNotifier(clock)
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    assert await _due(services) == [1]  # a new series is planned on the next tick
    wake = await tick(services)  # Tuesday 12:00 UTC: the channel's reminder (due 14:00) is written
    assert await _due(services) == []
    async with services.db.read() as session:
        assert await plans_q.next_plan_at(session, clock.now()) == utc(2022, 3, 1, 16, 0)  # the agenda deadline
    assert wake is not None and wake <= utc(2022, 3, 1, 14, 0)  # the pending reminder's due time
    clock.set(utc(2022, 3, 1, 15, 59))
    assert await _due(services) == []
    clock.set(utc(2022, 3, 1, 16, 0))
    assert await _due(services) == [1]
    await tick(services)
    assert (await outbox_rows(services))["mtg:1:2022-03-02:announce"].status == "sent"
    # The deadline step changed the meeting (as a command would): planned once more, then nothing is due.
    assert await _due(services) == [1]
    await tick(services)
    assert await _due(services) == []


async def test_changes_made_by_another_process_are_planned(dispatcher: Dispatcher, services: Services,
                                                           members: Members, clock: ManualClock, database_url: str,
                                                           settings: Settings) -> None:
    services.notifiers["console"] = RecordingNotifier(clock)
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await tick(services)
    other_db = Database(database_url)
    try:
        other = Dispatcher(build_services(other_db, clock, settings))
        await ok(other, members.member("erin"), "/meeting subscribe")
        assert await _due(services) == [1]
        await tick(services)  # erin's 24 h reminder (due 16:00) is within the write-ahead
        rows = await outbox_rows(services)
        assert rows["mtg:1:2022-03-02:dm:console:erin:86400"].status == "pending"
        await ok(other, members.member("erin"), "/me reminders off")
        assert await _due(services) == [1]
        await tick(services)
        rows = await outbox_rows(services)
        assert rows["mtg:1:2022-03-02:dm:console:erin:86400"].status == "cancelled"
        await ok(other, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
        assert await _due(services) == [1]
        await tick(services)
        rows = await outbox_rows(services)
        closing = rows["mtg:1:2022-03-02:agenda-closing"]
        assert "It has 1 item so far" in closing.payload  # the pending reminder's text was refreshed
    finally:
        await other_db.dispose()
