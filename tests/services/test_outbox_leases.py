"""A claim lasts one lease, but a batch can take longer: rows wait their turn for a slot, a platform is slow.
While the process lives its claims are renewed (every third of the lease), so another replica never takes
over and sends a row this one is still sending or about to send; and a row whose claim did run out and was
taken over (the process stalled) is not sent by the first one when its turn comes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import ManualClock
from bot.services import Services
from storage.db import Database
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows
from tests.services.test_outbox import dispatcher_for, enqueue_many
from tests.services.test_outbox_stop import HoldingNotifier

LEASE = timedelta(seconds=30)


async def test_claims_renewed_while_sending_are_not_taken_over(services: Services, clock: ManualClock,
                                                               database_url: str) -> None:
    await enqueue_many(services, 3)
    slow = HoldingNotifier(clock, held_key="t:0")
    # One send at a time: t:0 is in flight (the platform is slow), t:1 and t:2 wait their turn.
    first = dispatcher_for(services, slow, "first", concurrency=1, batch=3, lease=LEASE)
    sending = asyncio.create_task(first.dispatch_due())
    await slow.holding.wait()
    db2 = Database(database_url)
    try:
        other = RecordingNotifier(clock)
        second = dispatcher_for(services, other, "second", db=db2, lease=LEASE)
        for _ in range(4):  # two minutes, four leases, with the claims renewed as the running batch does
            clock.advance(LEASE * 2 / 3)
            await first.renew_claims()
            assert (await second.dispatch_due()).sent == 0
        slow.let_go.set()
        assert (await sending).sent == 3
    finally:
        await db2.dispose()
    slow.assert_each_once()
    assert other.keys() == []
    assert {row.status for row in (await outbox_rows(services)).values()} == {"sent"}


async def test_a_row_taken_over_while_waiting_its_turn_is_not_sent_again(services: Services, clock: ManualClock,
                                                                         database_url: str) -> None:
    await enqueue_many(services, 2)
    stalled = HoldingNotifier(clock, held_key="t:0")
    first = dispatcher_for(services, stalled, "first", concurrency=1, batch=2, lease=LEASE)
    sending = asyncio.create_task(first.dispatch_due())
    await stalled.holding.wait()
    clock.advance(LEASE + timedelta(seconds=1))  # the process stalled: no renewal, its claims ran out
    db2 = Database(database_url)
    try:
        other = RecordingNotifier(clock)
        assert (await dispatcher_for(services, other, "second", db=db2, lease=LEASE).dispatch_due()).sent == 2
    finally:
        await db2.dispose()
    stalled.let_go.set()
    await sending
    # t:0 was already at the platform when its claim ran out (the one message in flight); t:1 had not
    # started, and is left to the worker that took it over.
    assert stalled.keys() == ["t:0"]
    assert other.keys() == ["t:0", "t:1"]
    rows = await outbox_rows(services)
    assert {(row.status, row.claimed_by) for row in rows.values()} == {("sent", None)}
