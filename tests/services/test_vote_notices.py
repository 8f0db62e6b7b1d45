"""Votes through the outbox: the reminder before the close, the automatic close with its result post,
exactly once across ticks, restarts and replicas, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.services import Services
from bot.services.outbox import OutboxDispatcher
from bot.services.votes import VoteView
from storage.db import Database
from storage.queries import votes as votes_q
from tests.helpers import Members, ok, run, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, tick


def in_channel(settings: Settings, name: str, channel: str | None, *roles: str, workspace: str = "tvm",
               platform: str = "console") -> Actor:
    prefix = "console" if platform == "console" else platform
    return make_actor(settings, workspace_id=workspace, platform=platform, member_id=f"{prefix}:{name}",
                      display_name=name, platform_roles=frozenset(roles), channel_id=channel)


async def electorate(dispatcher: Dispatcher, members: Members, *names: str) -> None:
    """Members act once holding PMC, so the platform-reported role is known when a vote opens."""
    for name in names:
        await ok(dispatcher, members.chair(name), "/vote list")


async def open_in_general(services: Services, settings: Settings, **kwargs: object) -> int:
    view = await services.votes.open(in_channel(settings, "alice", "general", "PMC"), "Adopt the RFC process",
                                     link="https://discuss.tvm.apache.org/t/11", **kwargs)  # type: ignore[arg-type]
    return view.id


def dms(notifier: RecordingNotifier) -> list[tuple[datetime, str]]:
    return sorted((at, m.target) for at, m in notifier.sent if m.kind == "dm")


async def test_reminders_reach_binding_non_voters_once_at_the_right_instant_across_dst(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    clock.set(utc(2022, 3, 10, 20, 0))  # a Thursday; Los Angeles moves to PDT on Sunday 2022-03-13
    await electorate(dispatcher, members, "bob", "dan")
    await ok(dispatcher, members.chair("bob"), "/me tz America/Los_Angeles")
    vote_id = await open_in_general(services, settings)  # closes Sun 2022-03-13 20:00 UTC = 13:00 PDT
    closes_at = utc(2022, 3, 13, 20, 0)
    remind_at = closes_at - timedelta(hours=24)  # Sat 12:00 PST: 24 elapsed hours, not "same wall time"
    await ok(dispatcher, members.chair("alice"), f"/vote cast #{vote_id} +1")
    await ok(dispatcher, members.member("eve"), f"/vote cast #{vote_id} -1")  # not in the electorate
    assert await tick(services) == remind_at  # the precise wake-up
    clock.set(remind_at - timedelta(seconds=1))
    assert await tick(services) == remind_at and notifier.sent == []
    clock.set(remind_at)
    assert await tick(services) == closes_at  # next: the close
    # Only the electorate's members without a ballot: not alice (voted), not eve (not binding).
    assert dms(notifier) == [(remind_at, "console:bob"), (remind_at, "console:carol"), (remind_at, "console:dan")]
    bob = next(m for _, m in notifier.sent if m.target == "console:bob")
    assert bob.key == f"vote:{vote_id}:remind:console:bob" and bob.fallback_channel == "general"
    assert bob.reply.text.splitlines()[0] == (
        f'Reminder: vote #{vote_id} "Adopt the RFC process" closes Sun 2022-03-13 13:00 PDT (America/Los_Angeles) '
        "your time, Sun 2022-03-13 20:00 UTC (UTC), and you have not voted.")
    assert "<https://discuss.tvm.apache.org/t/11>" in bob.reply.text
    assert "Rule: lazy-two-thirds: needs at least 3 binding +1" in bob.reply.text
    assert f"/vote cast #{vote_id} +1|0|-1" in bob.reply.text
    assert [b.id for b in bob.reply.buttons] == [f"quorum:vote:{vote_id}:+1", f"quorum:vote:{vote_id}:0",
                                                 f"quorum:vote:{vote_id}:-1"]
    carol = next(m for _, m in notifier.sent if m.target == "console:carol")
    assert "closes Sun 2022-03-13 20:00 UTC your time, and you have not voted." in carol.reply.text
    for _ in range(3):  # more ticks, later: nothing is sent twice
        clock.advance(timedelta(hours=6))
        await tick(services)
    assert len(dms(notifier)) == 3
    notifier.assert_each_once()


async def test_voting_before_the_reminder_is_sent_cancels_it(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await electorate(dispatcher, members, "alice", "bob", "dan")
    vote_id = await open_in_general(services, settings)
    await ok(dispatcher, members.chair("dan"), f"/vote cast #{vote_id} 0")  # long before: never written
    clock.advance(timedelta(hours=48))
    await services.reminders.run_due()  # planned (written to the outbox), not yet dispatched
    rows = await outbox_rows(services)
    assert sorted(k for k in rows if ":remind:" in k) == [f"vote:{vote_id}:remind:console:{n}"
                                                          for n in ("alice", "bob", "carol")]
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} +1")  # between planning and sending
    await services.outbox_dispatcher.dispatch_due()
    assert dms(notifier) == [(clock.now(), "console:alice"), (clock.now(), "console:carol")]
    bob = (await outbox_rows(services))[f"vote:{vote_id}:remind:console:bob"]
    assert (bob.status, bob.last_error) == ("cancelled", "the member voted before it was sent")


async def test_the_deadline_closes_the_vote_and_posts_the_result_once(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await electorate(dispatcher, members, "bob", "dan")
    vote_id = await open_in_general(services, settings, rule="lazy-consensus")
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} +1")
    closes_at = utc(2022, 3, 4, 12, 0)
    clock.set(closes_at)
    assert await tick(services) is None  # nothing vote-related is left to wake up for
    posts = [(at, m) for at, m in notifier.sent if m.kind == "channel"]
    assert len(posts) == 1
    at, post = posts[0]
    assert (at, post.key, post.target, post.workspace_id) == (closes_at, f"vote:{vote_id}:result", "general", "tvm")
    assert post.reply.title == "[RESULT][VOTE] Adopt the RFC process"
    assert "Closed Fri 2022-03-04 12:00 UTC (UTC), at its deadline." in post.reply.text
    assert "Outcome: PASSED" in post.reply.text
    view = await services.votes.status("tvm", vote_id)
    assert view.closed_at == closes_at and view.head_digest in post.reply.text
    clock.advance(timedelta(hours=1))
    await tick(services)
    assert len([m for _, m in notifier.sent if m.kind == "channel"]) == 1


async def test_a_command_after_the_deadline_closes_it_and_the_result_is_still_posted(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    """The lazy close in commands writes the result in its own transaction; the next tick sends it."""
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    vote_id = await open_in_general(services, settings)
    clock.set(utc(2022, 3, 4, 13, 30))  # the bot was not ticking at the deadline
    status = await ok(dispatcher, members.member("bob"), f"/vote status #{vote_id}")
    assert status.data["vote"]["closed_at"] == "2022-03-04T12:00:00Z"
    result = (await outbox_rows(services))[f"vote:{vote_id}:result"]
    assert (result.status, result.target) == ("pending", "general")
    # The reminders were never written: the close came first. Nothing is sent late.
    await tick(services)
    await tick(services)
    assert [m.key for _, m in notifier.sent] == [f"vote:{vote_id}:result"]
    assert "Closed Fri 2022-03-04 12:00 UTC (UTC), at its deadline." in notifier.sent[0][1].reply.text


async def test_reminders_not_sent_before_the_close_are_missed_not_sent_late(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await electorate(dispatcher, members, "alice")
    vote_id = await open_in_general(services, settings)
    clock.set(utc(2022, 3, 4, 12, 0, 5))  # down from before the reminder time until after the close
    await tick(services)
    assert [m.key for _, m in notifier.sent] == [f"vote:{vote_id}:result"]
    rows = await outbox_rows(services)
    reminders = {k: (r.status, r.last_error) for k, r in rows.items() if ":remind:" in k}
    assert reminders == {f"vote:{vote_id}:remind:console:{n}": ("missed", "not sent before the vote closed")
                         for n in ("alice", "carol")}


async def test_a_chair_closing_in_the_votes_channel_is_not_posted_twice(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    first = await open_in_general(services, settings)
    second = await open_in_general(services, settings)
    clock.advance(timedelta(hours=48))
    await tick(services)  # reminders to alice and carol for both votes
    notifier.take()
    chair_here = in_channel(settings, "alice", "general", "PMC")
    chair_elsewhere = in_channel(settings, "alice", "random", "PMC")
    answered = await ok(dispatcher, chair_here, f"/vote close #{first} force=yes")
    assert answered.title == "[RESULT][VOTE] Adopt the RFC process" and not answered.ephemeral
    await ok(dispatcher, chair_elsewhere, f"/vote close #{second} force=yes")
    clock.advance(timedelta(hours=30))
    await tick(services)
    # Answered in #general for the first; the second was closed from #random, so #general gets it.
    assert [(m.key, m.target) for m in notifier.take()] == [(f"vote:{second}:result", "general")]
    rows = await outbox_rows(services)
    assert f"vote:{first}:result" not in rows


async def test_a_console_close_is_answered_once(dispatcher: Dispatcher, services: Services, members: Members,
                                                clock: ManualClock) -> None:
    """Console votes have no channel: the chair's console shows the result; nothing more is posted."""
    opened = await ok(dispatcher, members.chair("alice"), '/vote open "Console vote"')
    vote_id = opened.data["vote"]["id"]
    await ok(dispatcher, members.chair("alice"), f"/vote close #{vote_id} force=yes")
    assert f"vote:{vote_id}:result" not in await outbox_rows(services)
    other = await ok(dispatcher, members.chair("alice"), '/vote open "Console vote 2"')
    clock.advance(timedelta(hours=72))
    await tick(services)  # at the deadline nobody answered: the console notifier prints it
    result = (await outbox_rows(services))[f"vote:{other.data['vote']['id']}:result"]
    assert (result.target, result.kind) == ("", "channel")


async def test_early_close_cancels_unsent_reminders(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    vote_id = await open_in_general(services, settings)
    clock.advance(timedelta(hours=48))
    await services.reminders.run_due()  # written; the reminder is due now
    clock.advance(timedelta(hours=1))
    await services.votes.close(in_channel(settings, "alice", "general", "PMC"), vote_id, force=True)
    rows = await outbox_rows(services)
    assert {r.status for k, r in rows.items() if ":remind:" in k} == {"missed"}


async def test_short_votes_get_no_reminder(dispatcher: Dispatcher, services: Services, members: Members,
                                           clock: ManualClock, settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    vote_id = await open_in_general(services, settings, duration=timedelta(hours=12), force=True)
    assert await tick(services) == utc(2022, 3, 2, 0, 0)  # only the close
    clock.set(utc(2022, 3, 2, 0, 0))
    await tick(services)
    assert [m.key for _, m in notifier.sent] == [f"vote:{vote_id}:result"]


async def test_a_vote_committed_after_a_later_tick_still_gets_its_reminders(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    """/vote open takes its instant before it waits for the write lock; a tick may run meanwhile with a
    later clock (or on a replica whose clock is ahead) and not see the vote, whose deadline then falls
    before what that tick planned up to. Its reminders must still be written at the next tick."""
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await electorate(dispatcher, members, "bob")
    opened_at = clock.now()
    clock.set(opened_at + timedelta(minutes=1))
    await tick(services)  # the tick that ran while the open waited: it plans up to opened_at + 1 min + 24 h
    clock.set(opened_at)  # the open's instant, taken before that tick; it commits now
    vote_id = await open_in_general(services, settings, duration=timedelta(hours=24), force=True)
    clock.set(opened_at + timedelta(minutes=2))
    await tick(services)
    # A 24 h vote is reminded as it opens (its deadline minus the 24 h lead).
    assert sorted(m.key for _, m in notifier.sent if m.kind == "dm") == [
        f"vote:{vote_id}:remind:console:{name}" for name in ("bob", "carol")]
    clock.advance(timedelta(hours=1))
    await tick(services)  # and looking back again writes nothing twice
    notifier.assert_each_once()
    assert len([m for _, m in notifier.sent if m.kind == "dm"]) == 2


async def test_a_platform_vote_without_a_channel_fails_visibly(
        dispatcher: Dispatcher, services: Services, clock: ManualClock, settings: Settings) -> None:
    notifier = RecordingNotifier(clock, platform="discord")
    services.notifiers["discord"] = notifier
    chair = in_channel(settings, "1001", None, "PMC", workspace="discord:42", platform="discord")
    await ok(dispatcher, chair, "/vote list")
    view = await services.votes.open(chair, "No channel")
    clock.set(view.closes_at)
    await tick(services)
    result = (await outbox_rows(services))[f"vote:{view.id}:result"]
    assert (result.status, result.last_error) == ("failed", "the vote has no channel to post its result in")
    assert [m.kind for _, m in notifier.sent] == []  # the reminder to 1001 was missed; nothing posted
    assert (await services.votes.status("discord:42", view.id)).status == "closed"


async def test_a_result_claimed_by_a_crashed_process_is_sent_once_after_the_lease(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings, database_url: str) -> None:
    notifier = RecordingNotifier(clock)
    vote_id = await open_in_general(services, settings, duration=timedelta(hours=12), force=True)
    clock.set(utc(2022, 3, 2, 0, 0))
    await services.reminders.run_due()  # closed; the result is written
    crashed = OutboxDispatcher(services.db, clock, settings, {"console": notifier}, worker="crashed",
                               lease=timedelta(minutes=2))
    assert [c.key for c in await crashed.claim()] == [f"vote:{vote_id}:result"]
    # The process dies before sending. Another one starts, on its own pool.
    other_db = Database(database_url)
    try:
        restarted = build_services(other_db, clock, settings)
        restarted.notifiers["console"] = notifier
        assert await tick(restarted) == clock.now() + timedelta(minutes=2)  # the lease's end
        assert notifier.sent == []
        clock.advance(timedelta(minutes=2))
        await tick(restarted)
        await tick(restarted)
    finally:
        await other_db.dispose()
    assert [m.key for _, m in notifier.sent] == [f"vote:{vote_id}:result"]


async def test_two_processes_closing_at_once_post_one_result(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings, database_url: str) -> None:
    await electorate(dispatcher, members, "alice", "bob", "dan")
    ids = [await open_in_general(services, settings) for _ in range(3)]
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{ids[0]} +1")
    notifier = RecordingNotifier(clock)
    notifier.yield_each = True
    services.notifiers["console"] = notifier
    other_db = Database(database_url)
    try:
        replica = build_services(other_db, clock, settings)
        replica.notifiers["console"] = notifier
        clock.set(utc(2022, 3, 3, 12, 0))  # the reminders
        await asyncio.gather(tick(services), tick(replica), tick(services), tick(replica))
        clock.set(utc(2022, 3, 4, 12, 0))  # the closes: planners of both and the commands' lazy close
        await asyncio.gather(tick(services), tick(replica), services.votes.close_due(), replica.votes.close_due(),
                             run(dispatcher, members.member("eve"), "/vote list"))
        await asyncio.gather(tick(services), tick(replica))
    finally:
        await other_db.dispose()
    notifier.assert_each_once()
    results = sorted(m.key for _, m in notifier.sent if m.kind == "channel")
    assert results == sorted(f"vote:{i}:result" for i in ids)
    reminded = [m.key for _, m in notifier.sent if m.kind == "dm"]
    assert len(reminded) == 3 * 4 - 1  # alice, bob, carol, dan on each vote, but bob voted on the first
    logs = {v["id"]: v["events"] for v in await services.vote_audit.export()}
    assert all([e["kind"] for e in logs[i]].count("close") == 1 for i in ids)
    assert (await services.vote_audit.verify()).problem is None


async def test_a_vote_that_cannot_be_closed_does_not_hold_back_the_others(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock,
        settings: Settings) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    first = await open_in_general(services, settings)
    second = await open_in_general(services, settings)
    broken = [True]

    async def failing(session: AsyncSession, view: VoteView, answered_in: str | None) -> None:
        if view.id == first and broken[0]:
            raise RuntimeError("a bug in a close hook")

    services.votes.close_hooks.insert(0, failing)
    clock.set(utc(2022, 3, 4, 12, 0))
    await tick(services)
    assert [m.key for m in notifier.take() if m.kind == "channel"] == [f"vote:{second}:result"]
    async with services.db.read() as session:
        assert (await votes_q.get_vote(session, first)).status == "open"  # type: ignore[union-attr]
    assert [e["kind"] for v in await services.vote_audit.export() if v["id"] == first for e in v["events"]] == ["open"]
    broken[0] = False
    clock.advance(timedelta(seconds=30))
    await tick(services)
    assert [m.key for m in notifier.take() if m.kind == "channel"] == [f"vote:{first}:result"]
    assert (await services.votes.status("tvm", first)).closed_at == utc(2022, 3, 4, 12, 0)
    assert (await services.vote_audit.verify()).problem is None
