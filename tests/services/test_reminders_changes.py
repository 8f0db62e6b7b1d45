"""Changes to meetings and members update pending reminders; replicas share the deadline step."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from bot.services.views import SeriesInfo
from storage.db import Database
from storage.models import Meeting
from storage.queries import meetings as meetings_q
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, summary, tick


async def test_opting_out_cancels_pending_dms(dispatcher: Dispatcher, services: Services, members: Members,
                                              clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    clock.set(utc(2022, 3, 2, 10, 0))  # the bot was down over the deadline: late but still useful
    await tick(services)
    assert summary(notifier.take()) == [("channel", "general", "announce"), ("dm", "console:erin", "86400")]
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:dm:console:erin:3600"].status == "pending"
    await ok(dispatcher, members.member("erin"), "/me reminders off")
    await ok(dispatcher, members.member("bob"), "/me reminders 2h")  # authors still get theirs at 1 h
    await tick(services)
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:dm:console:erin:3600"].status == "cancelled"
    clock.set(utc(2022, 3, 2, 15, 0))
    await tick(services)
    assert summary(notifier.take()) == [("dm", "console:bob", "3600")]
    notifier.assert_each_once()


async def test_one_off_meeting_gets_its_own_reminders(dispatcher: Dispatcher, services: Services,
                                                      members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    await ok(dispatcher, members.chair("alice"),
             '/meeting add 2022-03-04T09:00 tz=Europe/London name="Release planning"')
    await ok(dispatcher, members.member("bob"),
             '/agenda add "Release 0.9" https://github.com/apache/tvm/issues/9 date=2022-03-04')
    clock.set(utc(2022, 3, 3, 9, 0))  # the one-off's deadline
    await tick(services)
    sent = notifier.take()
    keys = sorted(m.key for m in sent)
    assert "mtg:1:extra:2022-03-04T09:00Z:announce" in keys
    assert "mtg:1:extra:2022-03-04T09:00Z:dm:console:erin:86400" in keys
    announce = next(m for m in sent if m.key.endswith("extra:2022-03-04T09:00Z:announce"))
    assert announce.reply.title == "Release planning: the agenda is closed"
    notifier.assert_each_once()


async def test_two_replicas_share_the_deadline_step(dispatcher: Dispatcher, services: Services, members: Members,
                                                    clock: ManualClock, database_url: str) -> None:
    notifier = RecordingNotifier(clock)
    notifier.yield_each = True
    calls: list[str] = []

    async def rotation(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
        calls.append(meeting.occurrence_key)
        meeting.host = "console:alice"
        await asyncio.sleep(0)

    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    db2 = Database(database_url)
    try:
        replicas = [services, build_services(db2, clock, services.settings)]
        for replica in replicas:
            replica.notifiers["console"] = notifier
            replica.deadline_hooks.append(rotation)
        clock.set(utc(2022, 3, 1, 16, 0))
        await asyncio.gather(tick(replicas[0]), tick(replicas[1]))
        await asyncio.gather(tick(replicas[0]), tick(replicas[1]))
    finally:
        await db2.dispose()
    notifier.assert_each_once()
    assert summary(notifier.take()) == [("channel", "general", "announce"), ("dm", "console:alice", "86400")]
    assert calls and set(calls) == {"2022-03-02"}
    async with services.db.read() as session:
        meeting = await meetings_q.meeting_by_key(session, 1, "2022-03-02")
        assert meeting is not None and (meeting.status, meeting.host) == ("scheduled", "console:alice")


async def test_a_failing_deadline_hook_rolls_back_and_is_retried(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    broken = [True]

    async def rotation(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
        meeting.host = "console:alice"
        if broken[0]:
            raise RuntimeError("roster unavailable")

    services.deadline_hooks.append(rotation)
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    assert notifier.take() == []
    async with services.db.read() as session:
        meeting = await meetings_q.meeting_by_key(session, 1, "2022-03-02")
        assert meeting is not None and meeting.host is None  # nothing of the failed step was kept
    broken[0] = False
    clock.set(utc(2022, 3, 1, 16, 1))
    await tick(services)
    assert summary(notifier.take()) == [("channel", "general", "announce"), ("dm", "console:alice", "86400")]


async def test_due_planners_run_each_tick_and_ask_for_wakeups(services: Services, clock: ManualClock) -> None:
    """The seam votes plug into: a planner enqueues in its own transaction and names its next instant."""
    from bot.contracts.reply import Reply
    from bot.services.outbox import Outbox

    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    closes_at = utc(2022, 3, 4, 12, 0)

    async def failing(session: AsyncSession, now: datetime, outbox: Outbox) -> datetime | None:
        raise RuntimeError("one planner failing does not stop the others")

    async def votes(session: AsyncSession, now: datetime, outbox: Outbox) -> datetime | None:
        if now >= closes_at:
            await outbox.enqueue(session, key="vote:1:result", workspace_id="tvm", kind="channel",
                                 target="general", reply=Reply(text="[RESULT][VOTE] passed"))
            return None
        return closes_at

    services.due_planners.extend([failing, votes])
    assert await tick(services) == closes_at
    clock.set(closes_at)
    await tick(services)
    await tick(services)
    assert [m.key for m in notifier.take()] == ["vote:1:result"]
