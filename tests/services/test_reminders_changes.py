"""Changes to meetings and members update pending reminders; replicas share the deadline step."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import await_only

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from bot.services.outbox import Outbox
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


# PostgreSQL only (SQLite runs the replicas' write transactions one at a time: nothing to interleave).
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_replica_planning_during_the_other_s_deadline_step_keeps_its_messages(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock, database_url: str) -> None:
    """The interleaving behind a flaky run of the test above, made to happen: replica A is inside the
    deadline step (the hook fixes the host); replica B starts planning the same series. Were B to read
    the meeting now (no host) and the outbox after A committed (the announcement and the host's 24 h DM
    A wrote), it would take that DM as unwanted and mark it missed before A sends it: the host never
    gets it. B must plan after A's commit instead. SQLite cannot interleave two write transactions, so
    this is about PostgreSQL."""
    notifier = RecordingNotifier(clock)
    a_in_step, release_a = asyncio.Event(), asyncio.Event()
    b_read_meeting, b_waits, a_committed, b_planned = (asyncio.Event() for _ in range(4))

    async def rotation_a(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
        meeting.host = "console:alice"
        a_in_step.set()
        await release_a.wait()

    async def rotation_b(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
        meeting.host = "console:alice"

    async def a_after_planning(session: AsyncSession, now: datetime, outbox: Outbox) -> None:
        a_committed.set()  # A's planning is committed; it sends nothing before B has planned
        await b_planned.wait()

    async def b_after_planning(session: AsyncSession, now: datetime, outbox: Outbox) -> None:
        b_planned.set()

    def gate_b(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        # B's statements, from SQLAlchemy's public event: B either waits for the other planner of the
        # series, or reads the meeting and then (here) the meeting's outbox rows, once A has committed.
        if "pg_advisory" in statement:
            b_waits.set()
        elif "FROM outbox" in statement and "mtg:1:2022-03-02:" in str(parameters) and not b_read_meeting.is_set():
            b_read_meeting.set()
            await_only(a_committed.wait())

    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    db2 = Database(database_url)
    event.listen(db2.engine.sync_engine, "before_cursor_execute", gate_b)
    try:
        a, b = services, build_services(db2, clock, services.settings)
        a.deadline_hooks.append(rotation_a)
        b.deadline_hooks.append(rotation_b)
        a.due_planners.append(a_after_planning)
        b.due_planners.append(b_after_planning)
        for replica in (a, b):
            replica.notifiers["console"] = notifier
        clock.set(utc(2022, 3, 1, 16, 0))  # the deadline has passed; the host's 24 h DM is due now
        tick_a = asyncio.create_task(tick(a))
        await a_in_step.wait()
        tick_b = asyncio.create_task(tick(b))
        # A goes on once B has read the meeting (without the host), or is waiting to plan after A.
        waiting = [asyncio.create_task(e.wait()) for e in (b_read_meeting, b_waits)]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in waiting:
            task.cancel()
        release_a.set()
        await asyncio.gather(tick_a, tick_b)
        await asyncio.gather(tick(a), tick(b))
    finally:
        event.remove(db2.engine.sync_engine, "before_cursor_execute", gate_b)
        await db2.dispose()
    notifier.assert_each_once()
    assert summary(notifier.take()) == [("channel", "general", "announce"), ("dm", "console:alice", "86400")]
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:dm:console:alice:86400"].status == "sent"


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
