"""Three ``quorum run`` replicas on one PostgreSQL send a backlog of due messages to a (fake) Slack; one is
killed with SIGKILL in the middle. Every message arrives (0 lost), and none twice except at most the one the
killed replica had in flight ([outbox] concurrency = 1 makes that one: the bound is the concurrency)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.contracts.reply import Reply
from bot.services.outbox import Outbox
from storage.db import Database
from storage.queries import outbox as outbox_q
from tests.adapters.slack.fake_slack import FakeSlack
from tests.conftest import _truncate_postgres
from tests.e2e.test_run import free_port
from tests.e2e.test_stop_and_kill import BOT_TOKEN, SIGNING_SECRET, START_LIMIT, TEAM, Replica

MESSAGES = 300
MEMBERS = 40
KILL_AFTER = 100  # messages seen by Slack before one replica is killed
DRAIN_LIMIT = 90.0  # seconds the test waits for the backlog to be sent (a limit, not a sleep)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(TEAM)
    await fake.start()
    for n in range(MEMBERS):
        fake.add_user(f"U{n:04d}", f"Member {n}")
    yield fake
    await fake.close()


@pytest.fixture
def postgres(postgres_migrated: str | None) -> str:
    if postgres_migrated is None:
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    asyncio.run(_truncate_postgres(postgres_migrated))
    return postgres_migrated


async def _due_backlog(url: str) -> None:
    """A week's worth of reminders, all due now: one DM each, to members of one Slack workspace."""
    db = Database(url)
    outbox = Outbox(SystemClock())
    try:
        async with db.write() as session:
            for n in range(MESSAGES):
                await outbox.enqueue(session, key=f"week:{n}", workspace_id=f"slack:{TEAM}", kind="dm",
                                     target=f"slack:{TEAM}:U{n % MEMBERS:04d}", reply=Reply(f"reminder {n}"),
                                     due_at=datetime.now(UTC))
    finally:
        await db.dispose()


async def _pending(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return (await outbox_q.count_by_status(session))["pending"]
    finally:
        await db.dispose()


def _delivered(fake: FakeSlack) -> Counter[str]:
    return Counter(str(call.params.get("text", "")) for call in fake.of("chat.postMessage"))


async def test_three_replicas_one_killed_lose_nothing_and_repeat_at_most_one(
        quorum_env: dict[str, str], tmp_path: Path, postgres: str, fake_slack: FakeSlack) -> None:
    await _due_backlog(postgres)
    replicas = []
    for name in ("a", "b", "c"):
        config = tmp_path / f"{name}.toml"
        config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {free_port()}\n\n[scheduler]\ntick_seconds = 1\n\n'
                          "[outbox]\nconcurrency = 1\nlease_seconds = 5\n", encoding="utf-8")
        env = {**quorum_env, "QUORUM_DATABASE_URL": postgres, "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url("/api/")}
        replicas.append(Replica(env, config, tmp_path))
    killed = replicas[1]
    try:
        async with asyncio.timeout(START_LIMIT):
            while len(fake_slack.of("chat.postMessage")) < KILL_AFTER:
                assert all(r.process.poll() is None for r in replicas), "\n".join(r.log() for r in replicas)
                await asyncio.sleep(0.05)  # polling what the replicas sent
        killed.process.send_signal(signal.SIGKILL)
        assert await killed.stopped(10) == -signal.SIGKILL
        async with asyncio.timeout(DRAIN_LIMIT):
            while await _pending(postgres):  # noqa: ASYNC110  (another process's work: nothing to await on)
                await asyncio.sleep(0.2)  # polling the database while the replicas work
        for replica in (replicas[0], replicas[2]):
            replica.process.send_signal(signal.SIGTERM)
            assert await replica.stopped(10) == 0, replica.log()
    finally:
        for replica in replicas:
            replica.kill()

    delivered = _delivered(fake_slack)
    lost = [n for n in range(MESSAGES) if f"reminder {n}" not in delivered]
    repeated = {text: count for text, count in delivered.items() if count > 1}
    assert lost == [], f"{len(lost)} message(s) never arrived"
    assert sum(count - 1 for count in repeated.values()) <= 1, f"sent more than once: {repeated}"
    assert len(delivered) == MESSAGES
