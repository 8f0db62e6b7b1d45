"""A whole meeting week run by the scheduler's tick with a moving clock: every message exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from bot.services.views import SeriesInfo
from storage.models import Meeting
from storage.queries import meetings as meetings_q
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, summary, tick

SERIES = SEED_SERIES + " channel=general"


async def rotation_fake(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
    """Stands in for the rotation feature at the deadline seam: assigns alice and carol."""
    meeting.host = "console:alice"
    meeting.note_taker = "console:carol"


async def setup_week(dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock
                     ) -> RecordingNotifier:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    services.deadline_hooks.append(rotation_fake)
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("carol"), "/me tz Europe/London")
    return notifier


async def test_a_whole_week_sends_every_message_once(dispatcher: Dispatcher, services: Services, members: Members,
                                                     clock: ManualClock) -> None:
    notifier = await setup_week(dispatcher, services, members, clock)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    await ok(dispatcher, members.member("dan"), "/me tz Europe/Berlin")
    await ok(dispatcher, members.member("dan"), '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    await ok(dispatcher, members.member("erin"), "/meeting subscribe community")
    await ok(dispatcher, members.member("frank"), "/meeting subscribe")
    await ok(dispatcher, members.member("frank"), "/me reminders off")

    # Tue 12:00 UTC: the agenda closes at 16:00 (24 h before Wed 08:00 PST = 16:00 UTC).
    await tick(services)
    assert notifier.take() == []
    clock.set(utc(2022, 3, 1, 13, 59, 59))
    await tick(services)
    assert notifier.take() == []

    clock.set(utc(2022, 3, 1, 14, 0))  # 2 h before the deadline: the channel reminder
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "agenda-closing")]
    assert "closes at Tue 2022-03-01 08:00 PST" in sent[0].reply.text and "2 items so far" in sent[0].reply.text

    clock.set(utc(2022, 3, 1, 16, 0))  # the deadline: announcement, and the 24 h DMs
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "announce"), ("dm", "console:alice", "86400"),
                             ("dm", "console:carol", "86400"), ("dm", "console:erin", "86400")]
    announce = next(m for m in sent if m.kind == "channel")
    text = announce.reply.as_plain_text()
    for expected in ("Wed 2022-03-02 08:00 PST (America/Los_Angeles)", "16:00 UTC", "16:00 GMT (Europe/London)",
                     "17:00 CET (Europe/Berlin)", "21:30 IST (Asia/Kolkata)", "Thu 00:00 CST (Asia/Shanghai)",
                     "Host: alice · Note-taker: carol", "1. Unify meetings", "2. Relay VM"):
        assert expected in text, expected
    carol = next(m for m in sent if m.target == "console:carol")
    assert "starts Wed 2022-03-02 16:00 GMT (Europe/London) your time, Wed 2022-03-02 08:00 PST" in carol.reply.text
    assert carol.fallback_channel == "general"

    for minutes in (10, 30, 60, 120):  # more ticks send nothing again
        clock.set(utc(2022, 3, 1, 16, 0) + timedelta(minutes=minutes))
        await tick(services)
    assert notifier.take() == []

    clock.set(utc(2022, 3, 2, 15, 0))  # 1 h before: hosts, subscribers and authors
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("dm", "console:alice", "3600"), ("dm", "console:bob", "3600"),
                             ("dm", "console:carol", "3600"), ("dm", "console:dan", "3600"),
                             ("dm", "console:erin", "3600")]
    dan = next(m for m in sent if m.target == "console:dan")
    assert "17:00 CET (Europe/Berlin) your time" in dan.reply.text
    assert "#2 \"Relay VM\" is on the agenda" in dan.reply.text
    alice = next(m for m in sent if m.target == "console:alice")
    assert "you are the host" in alice.reply.text and "16:00 UTC your time" in alice.reply.text

    clock.set(utc(2022, 3, 2, 16, 5))  # the meeting started: it is held
    await tick(services)
    assert notifier.take() == []
    view, _ = await services.meetings.next_meeting("tvm", None)
    assert view.starts_at == utc(2022, 3, 9, 16, 0)
    async with services.db.read() as session:
        series = await meetings_q.series_by_slug(session, "tvm", "community")
        assert series is not None and series.id is not None
        meeting = await meetings_q.meeting_by_key(session, series.id, "2022-03-02")
        assert meeting is not None and meeting.status == "held"
    notifier.assert_each_once()
    rows = await outbox_rows(services)
    assert {r.status for k, r in rows.items() if "2022-03-02" in k} == {"sent"}


async def test_empty_agenda_week_announces_no_meeting_and_cancels(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = await setup_week(dispatcher, services, members, clock)
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    clock.set(utc(2022, 3, 1, 14, 0))
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "agenda-closing")]
    assert "Without items there is no meeting" in sent[0].reply.text
    rows = await outbox_rows(services)
    # erin's 24 h reminder (due at the deadline) is already written, waiting.
    assert rows["mtg:1:2022-03-02:dm:console:erin:86400"].status == "pending"

    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "announce")]
    assert sent[0].reply.title == "No meeting this week: TVM Community Meeting"
    assert "its agenda has no items" in sent[0].reply.text
    assert "Next meeting: Wed 2022-03-09 08:00 PST" in sent[0].reply.text
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:dm:console:erin:86400"].status == "cancelled"
    async with services.db.read() as session:
        meeting = await meetings_q.meeting_by_key(session, 1, "2022-03-02")
        assert meeting is not None and (meeting.status, meeting.status_reason) == ("cancelled", "no agenda items")
    clock.set(utc(2022, 3, 2, 15, 0))
    await tick(services)
    assert notifier.take() == []  # no 1 h reminders for a cancelled meeting
    notifier.assert_each_once()


async def test_cancel_by_chair_cancels_pending_reminders(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = await setup_week(dispatcher, services, members, clock)
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    await tick(services)
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:agenda-closing"].status == "pending"
    await ok(dispatcher, members.chair("alice"), '/meeting cancel 2022-03-02 reason="release week"')
    await tick(services)
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:agenda-closing"].status == "cancelled"
    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "announce")]
    assert "a chair cancelled it: release week" in sent[0].reply.text
    notifier.assert_each_once()


async def test_restart_after_downtime_sends_late_what_is_useful_and_marks_the_rest_missed(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = await setup_week(dispatcher, services, members, clock)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    await tick(services)  # Tue 12:00: the channel reminder (due 14:00) is written
    # The process is down from Tue 12:00 to Wed 15:30 (past the deadline and both DM offsets, before the start).
    clock.set(utc(2022, 3, 2, 15, 30))
    restarted = build_services(services.db, clock, services.settings)
    restarted.notifiers["console"] = notifier
    restarted.deadline_hooks.append(rotation_fake)
    await tick(restarted)
    sent = notifier.take()
    # The announcement is still useful (the meeting has not started); of each member's overdue reminders
    # only the latest (1 h) is sent; the channel reminder could no longer help (the agenda is closed).
    assert summary(sent) == [("channel", "general", "announce"), ("dm", "console:alice", "3600"),
                             ("dm", "console:bob", "3600"), ("dm", "console:carol", "3600")]
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-02:agenda-closing"].status == "missed"
    assert "mtg:1:2022-03-02:dm:console:alice:86400" not in rows
    notifier.assert_each_once()


async def test_dst_change_offsets_land_on_the_right_instant(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    """A meeting on the Sunday US clocks spring forward: offsets are elapsed time before the start."""
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier

    async def host_hook(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> None:
        meeting.host = "console:dan"

    services.deadline_hooks.append(host_hook)
    await ok(dispatcher, members.chair("alice"),
             '/meeting series create slug=sunday name="Sunday sync" weekday=sun time=10:00 '
             "tz=America/Los_Angeles zones=UTC,Europe/Berlin start=2022-03-13 channel=general")
    await ok(dispatcher, members.member("dan"), "/me tz Europe/Berlin")
    await ok(dispatcher, members.member("dan"), "/me reminders 25h,30m")
    await ok(dispatcher, members.member("bob"), '/agenda add "Spring" https://github.com/apache/tvm/issues/2')
    start = utc(2022, 3, 13, 17, 0)  # 10:00 PDT, the first day of daylight time
    due_25h = start - timedelta(hours=25)  # Sat 16:00 UTC = 08:00 PST, before the deadline
    due_30m = start - timedelta(minutes=30)
    clock.set(utc(2022, 3, 12, 17, 0))  # the deadline (24 h before): dan becomes host, 25 h is overdue
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "announce"), ("dm", "console:dan", "90000")]
    dm = next(m for m in sent if m.kind == "dm")
    assert "Sun 2022-03-13 18:00 CET (Europe/Berlin) your time, Sun 2022-03-13 10:00 PDT" in dm.reply.text
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-13:dm:console:dan:90000"].due_at == due_25h
    clock.set(start - timedelta(hours=1, seconds=1))
    await tick(services)
    assert notifier.take() == []
    clock.set(start - timedelta(hours=1))  # 09:00 PDT: bob's author reminder
    await tick(services)
    assert summary(notifier.take()) == [("dm", "console:bob", "3600")]
    rows = await outbox_rows(services)
    assert rows["mtg:1:2022-03-13:dm:console:dan:1800"].due_at == due_30m
    clock.set(due_30m - timedelta(seconds=1))
    await tick(services)
    assert notifier.take() == []
    clock.set(due_30m)  # 09:30 PDT, 17:30 CET
    await tick(services)
    assert summary(notifier.take()) == [("dm", "console:dan", "1800")]
    assert notifier.sent[-1][0] == utc(2022, 3, 13, 16, 30)
    notifier.assert_each_once()
