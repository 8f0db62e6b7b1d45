"""Cancelling and restoring after the announcement are told to the channel (issue 16, item 8)."""

from __future__ import annotations

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, summary, tick

SERIES = SEED_SERIES + " channel=general"


async def test_a_meeting_restored_after_no_meeting_this_week_is_announced_with_its_reminders(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    await tick(services)  # Tue 12:00: the 24 h DM (due 16:00) is written ahead
    clock.set(utc(2022, 3, 1, 16, 0))  # the deadline, with an empty agenda
    await tick(services)
    [no_meeting] = notifier.take()
    assert no_meeting.reply.title == "No meeting this week: TVM Community Meeting"

    clock.set(utc(2022, 3, 1, 18, 0))
    restored = await ok(dispatcher, members.chair("alice"), "/meeting restore 2022-03-02")
    assert "Restored" in restored.text
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "1"), ("dm", "console:erin", "86400"),
                             ("update", f"ref-{no_meeting.id}", "1")]
    # "No meeting this week" is marked in place as superseded; the announcement is posted after it.
    superseded = next(m for m in sent if m.kind == "update")
    assert superseded.reply.title == "No meeting this week: TVM Community Meeting (superseded)"
    assert superseded.reply.text.startswith("Superseded: a chair restored this meeting afterwards")
    post = next(m for m in sent if m.kind == "channel")
    assert post.key.startswith("mtg-status:")
    assert post.reply.title == "TVM Community Meeting: restored, the agenda is closed"
    assert "No meeting this week" in post.reply.text and "Wed 2022-03-02 08:00 PST" in post.reply.text
    # The 1 h reminder is still to come, at 15:00 UTC.
    clock.set(utc(2022, 3, 2, 15, 0))
    await tick(services)
    assert summary(notifier.take()) == [("dm", "console:erin", "3600")]
    notifier.assert_each_once()


async def test_a_chair_cancelling_an_announced_meeting_tells_the_channel(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1')
    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    announced = next(m for m in notifier.take() if m.kind == "channel")
    assert announced.reply.title == "TVM Community Meeting: the agenda is closed"

    clock.set(utc(2022, 3, 2, 9, 30))
    await tick(services)  # bob's 1 h reminder as an author (due 15:00) is written ahead
    clock.set(utc(2022, 3, 2, 10, 0))
    await ok(dispatcher, members.chair("alice"), '/meeting cancel 2022-03-02 reason="the host is ill"')
    await tick(services)
    sent = notifier.take()
    assert summary(sent) == [("channel", "general", "1"), ("update", f"ref-{announced.id}", "1")]
    assert sent[0].reply.title == "Cancelled by a chair: TVM Community Meeting"
    assert "the host is ill" in sent[0].reply.text and "Cancelled by alice" in sent[0].reply.text
    assert sent[1].reply.title == "TVM Community Meeting: the agenda is closed (superseded)"
    # bob's 1 h reminder as an author is not sent for a cancelled meeting.
    clock.set(utc(2022, 3, 2, 15, 0))
    await tick(services)
    assert notifier.take() == []
    rows = await outbox_rows(services)
    assert rows[next(k for k in rows if k.endswith("dm:console:bob:3600"))].status == "cancelled"


async def test_a_cancel_before_the_announcement_is_sent_rewrites_it(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1')
    clock.set(utc(2022, 3, 1, 16, 0))
    await services.reminders.run_due()  # the deadline step wrote the announcement; nothing sent yet
    await ok(dispatcher, members.chair("alice"), "/meeting cancel 2022-03-02")
    await tick(services)
    posts = [m for m in notifier.take() if m.kind == "channel"]
    assert [m.reply.title for m in posts] == ["Cancelled by a chair: TVM Community Meeting"]
