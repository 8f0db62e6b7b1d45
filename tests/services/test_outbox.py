"""The outbox dispatcher: exactly-once claims with leases, retries, give-up, DM fallback, concurrency."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import ManualClock
from bot.config import Settings
from bot.contracts.outbound import DeliveryError, OutboundKind
from bot.contracts.reply import Reply
from bot.services import Services
from bot.services.outbox import OutboxDispatcher
from storage.db import Database
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows


async def enqueue_many(services: Services, count: int, *, kind: OutboundKind = "dm", prefix: str = "t",
                       fallback: str | None = None) -> None:
    async with services.db.write() as session:
        for n in range(count):
            await services.outbox.enqueue(session, key=f"{prefix}:{n}", workspace_id="tvm", kind=kind,
                                          target=f"console:m{n % 7}", reply=Reply(text=f"message {n}"),
                                          fallback_channel=fallback)


def dispatcher_for(services: Services, notifier: RecordingNotifier, worker: str, db: Database | None = None,
                   **kwargs: object) -> OutboxDispatcher:
    return OutboxDispatcher(db or services.db, services.clock, services.settings, {"console": notifier},
                            worker=worker, **kwargs)  # type: ignore[arg-type]


async def test_enqueue_is_idempotent_by_key(services: Services, clock: ManualClock) -> None:
    async with services.db.write() as session:
        first = await services.outbox.enqueue(session, key="k", workspace_id="tvm", kind="channel", target="general",
                                              reply=Reply(text="one"))
        second = await services.outbox.enqueue(session, key="k", workspace_id="tvm", kind="channel",
                                               target="general", reply=Reply(text="two"))
    assert (first, second) == (True, False)
    notifier = RecordingNotifier(clock)
    report = await dispatcher_for(services, notifier, "a").dispatch_due()
    assert report.sent == 1 and [m.reply.text for _, m in notifier.sent] == ["one"]
    assert (await dispatcher_for(services, notifier, "a").dispatch_due()).sent == 0


async def test_future_rows_wait_for_their_time(services: Services, clock: ManualClock) -> None:
    async with services.db.write() as session:
        await services.outbox.enqueue(session, key="later", workspace_id="tvm", kind="channel", target="general",
                                      reply=Reply(text="later"), due_at=clock.now() + timedelta(minutes=5))
    notifier = RecordingNotifier(clock)
    dispatcher = dispatcher_for(services, notifier, "a")
    assert await dispatcher.next_wakeup() == clock.now() + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    assert (await dispatcher.dispatch_due()).sent == 0
    clock.advance(timedelta(seconds=1))
    assert (await dispatcher.dispatch_due()).sent == 1
    assert notifier.sent[0][0] == clock.now()


async def test_killed_between_claim_and_send_is_sent_once_after_the_lease(
        services: Services, clock: ManualClock, database_url: str) -> None:
    await enqueue_many(services, 3)
    notifier = RecordingNotifier(clock)
    crashed = dispatcher_for(services, notifier, "crashed", lease=timedelta(minutes=2))
    claimed = await crashed.claim()
    assert len(claimed) == 3
    # The process dies here, before sending. A new process on a new connection pool starts.
    db2 = Database(database_url)
    try:
        restarted = dispatcher_for(services, notifier, "restarted", db=db2, lease=timedelta(minutes=2))
        assert (await restarted.dispatch_due()).sent == 0  # still leased to the dead process
        assert await restarted.next_wakeup() == clock.now() + timedelta(minutes=2)
        clock.advance(timedelta(minutes=2))
        report = await restarted.dispatch_due()
        assert report.sent == 3
        assert (await restarted.dispatch_due()).sent == 0
    finally:
        await db2.dispose()
    notifier.assert_each_once()
    rows = await outbox_rows(services)
    assert {(r.status, r.attempts, r.claimed_by) for r in rows.values()} == {("sent", 2, None)}


async def test_a_stale_worker_cannot_overwrite_a_newer_claim(services: Services, clock: ManualClock) -> None:
    await enqueue_many(services, 1)
    notifier = RecordingNotifier(clock)
    slow = dispatcher_for(services, notifier, "slow", lease=timedelta(seconds=30))
    claimed = await slow.claim()
    clock.advance(timedelta(seconds=31))
    fast = dispatcher_for(services, notifier, "fast", lease=timedelta(seconds=30))
    assert (await fast.dispatch_due()).sent == 1
    notifier.failures.append(DeliveryError("timeout"))
    await slow.deliver(claimed)  # its failure must not put the sent row back to pending
    rows = await outbox_rows(services)
    assert rows["t:0"].status == "sent"


async def test_two_dispatchers_never_send_a_row_twice(services: Services, clock: ManualClock,
                                                      database_url: str) -> None:
    await enqueue_many(services, 400)
    notifier = RecordingNotifier(clock)
    notifier.yield_each = True
    db2 = Database(database_url)
    try:
        one = dispatcher_for(services, notifier, "one", batch=25)
        two = dispatcher_for(services, notifier, "two", db=db2, batch=25)
        # Interleaved claims take disjoint rows...
        first, second = await one.claim(), await two.claim()
        assert len(first) == len(second) == 25 and not {c.id for c in first} & {c.id for c in second}
        # ...and so do concurrent ones (how the work splits is up to the scheduler and the database).
        reports = await asyncio.gather(one.deliver(first), two.deliver(second), one.dispatch_due(),
                                       two.dispatch_due(), one.dispatch_due())
    finally:
        await db2.dispose()
    notifier.assert_each_once()
    assert sorted(notifier.keys()) == sorted(f"t:{n}" for n in range(400))
    assert sum(r.sent for r in reports) == 400
    rows = await outbox_rows(services)
    assert {r.status for r in rows.values()} == {"sent"}


async def test_transient_failures_are_retried_with_backoff_and_retry_after(services: Services,
                                                                           clock: ManualClock) -> None:
    await enqueue_many(services, 1)
    notifier = RecordingNotifier(clock)
    notifier.failures = [DeliveryError("rate limited", retry_after=10), DeliveryError("502")]
    dispatcher = dispatcher_for(services, notifier, "a")
    assert (await dispatcher.dispatch_due()).retried == 1
    assert (await dispatcher.dispatch_due()).sent == 0
    assert await dispatcher.next_wakeup() == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=10))
    assert (await dispatcher.dispatch_due()).retried == 1  # the 502; next wait is the backoff (1 min)
    clock.advance(timedelta(seconds=59))
    assert (await dispatcher.dispatch_due()).sent == 0
    clock.advance(timedelta(seconds=1))
    assert (await dispatcher.dispatch_due()).sent == 1
    rows = await outbox_rows(services)
    assert (rows["t:0"].status, rows["t:0"].attempts) == ("sent", 3)


async def test_gives_up_visibly_after_max_attempts(services: Services, clock: ManualClock,
                                                   settings: Settings, caplog: object) -> None:
    await enqueue_many(services, 1)
    notifier = RecordingNotifier(clock)
    notifier.failures = [DeliveryError("down") for _ in range(20)]
    dispatcher = dispatcher_for(services, notifier, "a")
    for _ in range(settings.reminders.max_attempts + 2):
        await dispatcher.dispatch_due()
        clock.advance(timedelta(hours=2))
    rows = await outbox_rows(services)
    assert (rows["t:0"].status, rows["t:0"].attempts, rows["t:0"].last_error) == (
        "failed", settings.reminders.max_attempts, "down")
    assert len(notifier.failures) == 20 - settings.reminders.max_attempts
    assert "gave up after 6 attempt(s)" in caplog.text  # type: ignore[attr-defined]


async def test_permanent_failure_is_not_retried(services: Services, clock: ManualClock) -> None:
    await enqueue_many(services, 1)
    notifier = RecordingNotifier(clock)
    notifier.failures = [DeliveryError("unknown channel", transient=False)]
    assert (await dispatcher_for(services, notifier, "a").dispatch_due()).failed == 1
    rows = await outbox_rows(services)
    assert (rows["t:0"].status, rows["t:0"].attempts) == ("failed", 1)


async def test_closed_dms_fall_back_to_one_channel_mention(services: Services, clock: ManualClock) -> None:
    async with services.db.write() as session:
        await services.outbox.enqueue(session, key="dm:bob", workspace_id="tvm", kind="dm", target="console:bob",
                                      reply=Reply(text="Reminder: the meeting"), fallback_channel="general")
    notifier = RecordingNotifier(clock)
    notifier.closed_dms.add("console:bob")
    dispatcher = dispatcher_for(services, notifier, "a")
    report = await dispatcher.dispatch_due()
    assert (report.fallbacks, report.sent) == (1, 1)
    for _ in range(3):
        assert (await dispatcher.dispatch_due()).sent == 0
    assert [(m.kind, m.target, m.key) for _, m in notifier.sent] == [("channel", "general", "fallback:dm:bob")]
    message = notifier.sent[0][1]
    assert message.reply.data["mention"] == "console:bob" and "Reminder: the meeting" in message.reply.text
    rows = await outbox_rows(services)
    assert rows["dm:bob"].status == "failed"
    assert "direct messages are closed; mentioned in channel general" in (rows["dm:bob"].last_error or "")


async def test_expired_rows_are_marked_missed_not_sent(services: Services, clock: ManualClock) -> None:
    async with services.db.write() as session:
        await services.outbox.enqueue(session, key="old", workspace_id="tvm", kind="dm", target="console:bob",
                                      reply=Reply(text="x"), expires_at=clock.now() + timedelta(minutes=1))
    clock.advance(timedelta(minutes=1))
    notifier = RecordingNotifier(clock)
    report = await dispatcher_for(services, notifier, "a").dispatch_due()
    assert (report.missed, report.sent, notifier.sent) == (1, 0, [])
    assert (await outbox_rows(services))["old"].status == "missed"


async def test_missing_notifier_is_a_recorded_transient_failure(services: Services, clock: ManualClock) -> None:
    async with services.db.write() as session:
        await services.outbox.enqueue(session, key="s", workspace_id="slack:T0001", kind="channel", target="C1",
                                      reply=Reply(text="x"))
    report = await dispatcher_for(services, RecordingNotifier(clock), "a").dispatch_due()
    assert report.retried == 1
    assert "no slack notifier is running" in ((await outbox_rows(services))["s"].last_error or "")


async def test_outbox_report_lists_failures(services: Services, clock: ManualClock) -> None:
    from bot.services.outbox import outbox_report

    await enqueue_many(services, 2)
    notifier = RecordingNotifier(clock)
    notifier.failures = [DeliveryError("unknown user", transient=False)]
    await dispatcher_for(services, notifier, "a").dispatch_due()
    text = await outbox_report(services.db)
    assert text.startswith("Outbox: pending 0, sent 1, failed 1, missed 0, cancelled 0\n")
    assert "failed  2022-03-01 12:00Z dm to console:m" in text and "unknown user [t:" in text
