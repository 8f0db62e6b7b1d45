"""Each delivery is recorded as soon as it is made, so a process killed mid-batch repeats at most the
messages it had in flight; a clean stop lets those finish, then gives back its claims on the rest so they
are sent at once by another replica (or after the restart), not when the lease runs out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import ManualClock
from bot.contracts.outbound import OutboundMessage
from bot.services import Services
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows
from tests.services.test_outbox import dispatcher_for, enqueue_many


class HoldingNotifier(RecordingNotifier):
    """Holds the send of one message until the test lets it go (a slow platform, or a process about to die)."""

    def __init__(self, clock: ManualClock, held_key: str) -> None:
        super().__init__(clock)
        self.held_key = held_key
        self.holding = asyncio.Event()
        self.let_go = asyncio.Event()

    async def send(self, message: OutboundMessage) -> str | None:
        if message.key == self.held_key:
            self.holding.set()
            await self.let_go.wait()
        return await super().send(message)


async def test_deliveries_are_recorded_while_the_batch_is_still_sending(services: Services,
                                                                       clock: ManualClock) -> None:
    await enqueue_many(services, 5)
    notifier = HoldingNotifier(clock, held_key="t:2")
    dying = dispatcher_for(services, notifier, "dying", lease=timedelta(minutes=2))
    sending = asyncio.create_task(dying.dispatch_due())
    await notifier.holding.wait()
    for _ in range(500):  # the other four go out, and are recorded, while t:2 hangs
        rows = await outbox_rows(services)
        if sum(row.status == "sent" for row in rows.values()) == 4:
            break
    assert {key for key, row in rows.items() if row.status == "sent"} == {"t:0", "t:1", "t:3", "t:4"}
    assert rows["t:2"].status == "pending" and rows["t:2"].claimed_by == "dying"

    sending.cancel()  # the process is killed with t:2 in flight
    await asyncio.gather(sending, return_exceptions=True)
    clock.advance(timedelta(minutes=2))
    restarted = RecordingNotifier(clock)
    report = await dispatcher_for(services, restarted, "restarted").dispatch_due()
    assert report.sent == 1 and restarted.keys() == ["t:2"]  # only the one in flight is sent again


async def test_a_clean_stop_finishes_what_is_in_flight_and_releases_the_rest(services: Services,
                                                                            clock: ManualClock) -> None:
    await enqueue_many(services, 4)
    notifier = HoldingNotifier(clock, held_key="t:0")
    # One send at a time: t:0 is in flight, t:1..t:3 are claimed and waiting their turn.
    stopping = dispatcher_for(services, notifier, "stopping", concurrency=1, batch=4, lease=timedelta(minutes=2))
    sending = asyncio.create_task(stopping.dispatch_due())
    await notifier.holding.wait()

    stop = asyncio.create_task(stopping.stop(timedelta(seconds=5)))
    await asyncio.sleep(0)
    assert not stop.done()  # waits for t:0
    notifier.let_go.set()
    assert await stop == 3
    report = await sending
    assert report.sent == 1 and notifier.keys() == ["t:0"]

    rows = await outbox_rows(services)
    assert rows["t:0"].status == "sent"
    assert all(rows[key].claimed_by is None and rows[key].attempts == 0 for key in ("t:1", "t:2", "t:3"))
    other = RecordingNotifier(clock)  # another replica, at once: no lease to wait for
    assert (await dispatcher_for(services, other, "other").dispatch_due()).sent == 3
    assert sorted(other.keys()) == ["t:1", "t:2", "t:3"]
    assert (await stopping.dispatch_due()).sent == 0  # a stopped dispatcher sends nothing new


async def test_a_send_still_running_when_the_grace_runs_out_keeps_its_claim(services: Services,
                                                                            clock: ManualClock) -> None:
    await enqueue_many(services, 3)
    notifier = HoldingNotifier(clock, held_key="t:0")
    stopping = dispatcher_for(services, notifier, "stopping", concurrency=1, batch=3, lease=timedelta(minutes=2))
    sending = asyncio.create_task(stopping.dispatch_due())
    await notifier.holding.wait()
    assert await stopping.stop(timedelta(0)) == 2  # t:1 and t:2 given back; t:0 is still being sent
    rows = await outbox_rows(services)
    assert rows["t:0"].claimed_by == "stopping"
    other = RecordingNotifier(clock)
    assert (await dispatcher_for(services, other, "other").dispatch_due()).sent == 2
    assert sorted(other.keys()) == ["t:1", "t:2"]  # never t:0, which may yet reach the platform
    notifier.let_go.set()
    await sending
    notifier.assert_each_once()
