"""Pruning sent outbox rows: only old, sent, expired ones, in bounded batches, at most hourly, and never
in a way that lets a planner write (and send) a message again. Prefix lookups are served by an index."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import MIN_OUTBOX_RETENTION_DAYS, ConfigError, OutboxConfig, Settings, load_settings
from bot.contracts.reply import Reply
from bot.services import Services
from bot.services.reminders import LOOKBACK
from storage.db import Database
from storage.queries import outbox as outbox_q
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, tick

REPLY = Reply(text="hello", ephemeral=False)


async def _write(services: Services, key: str, *, expires: timedelta | None = timedelta(hours=1),
                 status: str = "pending", due: timedelta = timedelta(0)) -> None:
    now = services.clock.now()
    async with services.db.write() as session:
        await services.outbox.enqueue(session, key=key, workspace_id="tvm", kind="channel", target="general",
                                      reply=REPLY, due_at=now + due, status=status,
                                      expires_at=now + expires if expires is not None else None)


async def test_only_old_sent_expired_rows_are_pruned_at_most_hourly(services: Services, clock: ManualClock) -> None:
    services.notifiers["console"] = RecordingNotifier(clock)
    start = clock.now()
    await _write(services, "old-sent")
    await _write(services, "old-sent-no-expiry", expires=None)  # a vote result, minutes: kept
    await _write(services, "old-sent-long-useful", expires=timedelta(days=50))
    for status in ("failed", "missed", "cancelled"):
        await _write(services, f"old-{status}", status=status)
    await _write(services, "future-pending", due=timedelta(days=200), expires=timedelta(days=201))
    assert (await services.outbox_dispatcher.dispatch_due()).sent == 3
    clock.set(start + timedelta(days=80))
    await _write(services, "recent-sent")
    assert (await services.outbox_dispatcher.dispatch_due()).sent == 1
    assert await services.outbox_dispatcher.prune() == 0  # nothing is 90 days old yet
    clock.set(start + timedelta(days=91))
    assert await services.outbox_dispatcher.prune() == 1
    assert set(await outbox_rows(services)) == {
        "old-sent-no-expiry", "old-sent-long-useful", "old-failed", "old-missed", "old-cancelled",
        "future-pending", "recent-sent"}
    clock.set(start + timedelta(days=140, minutes=-1))
    assert await services.outbox_dispatcher.prune() == 0
    clock.advance(timedelta(minutes=2))  # 90 days after "old-sent-long-useful" stopped being useful, but
    assert await services.outbox_dispatcher.prune() == 0  # within the hour since the last run
    clock.advance(timedelta(hours=1))
    assert await services.outbox_dispatcher.prune() == 1
    assert "old-sent-long-useful" not in await outbox_rows(services)
    assert (await outbox_rows(services))["future-pending"].status == "pending"


async def test_pruning_goes_in_small_batches(services: Services, clock: ManualClock) -> None:
    services.notifiers["console"] = RecordingNotifier(clock)
    for n in range(5):
        await _write(services, f"k{n}")
    await services.outbox_dispatcher.dispatch_due()
    async with services.db.write() as session:
        assert await outbox_q.prune_sent(session, clock.now() + timedelta(days=1), 2) == 2
    async with services.db.write() as session:
        assert await outbox_q.prune_sent(session, clock.now() + timedelta(days=1), 2) == 2
    async with services.db.write() as session:
        assert await outbox_q.prune_sent(session, clock.now() + timedelta(days=1), 2) == 1
    assert await outbox_rows(services) == {}


async def test_pruned_messages_are_not_written_or_sent_again(db: Database, clock: ManualClock, settings: Settings,
                                                             members: Members) -> None:
    """A meeting's reminders and announcement are pruned once old; the planners never look that far back,
    so ticking on (and a fresh process planning every series) writes none of them again."""
    services = build_services(db, clock, replace(settings, outbox=OutboxConfig(retention=timedelta(days=7))))
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    dispatcher = Dispatcher(services)
    await ok(dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    await ok(dispatcher, members.member("erin"), "/meeting subscribe")
    first = "mtg:1:2022-03-02:"
    for hour in range(0, 36):  # through the meeting of Wednesday 2022-03-02 16:00 UTC
        clock.set(utc(2022, 3, 1, 12) + timedelta(hours=hour))
        await tick(services)
    sent = notifier.keys()
    sent_first = sorted(k for k in sent if k.startswith(first))
    assert f"{first}announce" in sent_first and f"{first}dm:console:erin:3600" in sent_first
    clock.set(utc(2022, 3, 10, 12))  # 7 days after, and an hour since the last prune
    await tick(services)
    assert not [k for k in await outbox_rows(services) if k.startswith(first)]  # pruned
    for minutes in (1, 60, 120):
        clock.set(utc(2022, 3, 10, 12) + timedelta(minutes=minutes))
        await tick(services)
    fresh = build_services(db, clock, settings)  # a restarted process plans every series once
    fresh.notifiers["console"] = notifier
    await tick(fresh)
    sent = notifier.keys()
    assert sorted(k for k in sent if k.startswith(first)) == sent_first
    notifier.assert_each_once()


def test_the_retention_is_longer_than_the_planners_look_back(tmp_path: Path) -> None:
    assert timedelta(days=MIN_OUTBOX_RETENTION_DAYS) > 2 * LOOKBACK
    assert load_settings(None, {}).outbox.retention == timedelta(days=90)
    path = tmp_path / "q.toml"
    path.write_text("[outbox]\nretention_days = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    (problem,) = caught.value.problems
    assert problem.line == 2 and "at least 7" in problem.message
    path.write_text("[outbox]\nretention_days = 30\n", encoding="utf-8")
    assert load_settings(path, {}).outbox.retention == timedelta(days=30)


async def test_key_prefix_lookups_use_an_index(services: Services) -> None:
    for n in range(50):
        await _write(services, f"mtg:{n}:2022-03-02:dm:console:m{n}:3600")
    async with services.db.write() as session:
        if not services.db.sqlite:
            # Tiny tables are scanned whatever the indexes: ask whether an index can serve the lookup at all.
            await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await outbox_q.explain_prefix_lookup(session, "mtg:7:2022-03-02:")
        assert sorted(await outbox_q.keys_with_prefix(session, "mtg:7:2022-03-02:")) == \
            ["mtg:7:2022-03-02:dm:console:m7:3600"]
    if services.db.sqlite:
        # SQLite names the unique constraint's index sqlite_autoindex_outbox_<n>.
        assert "SEARCH outbox USING COVERING INDEX sqlite_autoindex_outbox" in plan, plan
        assert "(key>? AND key<?)" in plan, plan
    else:
        assert "ix_outbox_key_pattern" in plan and "Seq Scan" not in plan, plan


def test_prefix_range_is_exactly_the_prefix() -> None:
    low, high = outbox_q.prefix_range("vote:12:remind:")
    keys = ["vote:12:remind:a", "vote:12:remind:", "vote:12:remind;", "vote:12:remind9", "vote:12:result",
            "vote:12:remind:\U0010ffff", "vote:121:remind:a"]
    assert [k for k in keys if low <= k < high] == [k for k in keys if k.startswith("vote:12:remind:")]
    assert outbox_q.prefix_range("a\U0010ffff") == ("a\U0010ffff", "b")
