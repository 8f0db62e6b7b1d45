"""Slack commands are recorded before they are acknowledged: one whose process died before finishing it is
run again, by one replica only, after the lease (at once by the same replica when it restarts), and given
up after three runs."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.services import Services
from bot.services.requests import ACCEPT_LEASE, RequestLog


async def test_an_interrupted_request_is_run_again_once_by_one_replica_and_given_up_after_three_runs(
        services: Services, clock: ManualClock) -> None:
    dead = RequestLog(services.db, clock, "host-a:8080")
    assert await dead.accept("slack:T1:trigger:9", '{"command": "/meeting"}')
    assert not await dead.accept("slack:T1:trigger:9", "{}")  # Slack's retry: already claimed
    done = RequestLog(services.db, clock, "host-a:8080")
    assert await done.accept("slack:T1:trigger:10", "{}")
    await done.finished("slack:T1:trigger:10")

    other = RequestLog(services.db, clock, "host-b:8080")
    assert await other.claim_interrupted() == []  # still within host-a's lease
    clock.advance(ACCEPT_LEASE)
    assert await other.claim_interrupted() == [("slack:T1:trigger:9", '{"command": "/meeting"}')]
    assert await RequestLog(services.db, clock, "host-c:8080").claim_interrupted() == []  # host-b holds it now

    for _ in range(2):  # host-b dies too, each time: run again after the lease, three runs in all
        clock.advance(ACCEPT_LEASE)
        runs = await other.claim_interrupted()
    assert runs == []  # the third interruption: given up rather than run a fourth time
    clock.advance(ACCEPT_LEASE)
    assert await other.claim_interrupted() == []


async def test_a_restarted_replica_runs_what_it_accepted_before_at_once(services: Services,
                                                                         clock: ManualClock) -> None:
    before = RequestLog(services.db, clock, "host-a:8080")
    assert await before.accept("slack:T1:trigger:11", '{"n": 11}')
    clock.advance(timedelta(seconds=5))
    assert await RequestLog(services.db, clock, "host-b:8080").claim_interrupted() == []  # another replica waits
    restarted = RequestLog(services.db, clock, "host-a:8080")
    assert await restarted.claim_interrupted() == [("slack:T1:trigger:11", '{"n": 11}')]
    assert await restarted.claim_interrupted() == []  # claimed once, not again
    await restarted.finished("slack:T1:trigger:11")
    clock.advance(timedelta(minutes=10))
    assert await RequestLog(services.db, clock, "host-b:8080").claim_interrupted() == []
