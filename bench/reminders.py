"""Benchmark: 10,000 reminders due at the same instant, dispatched to a notifier that records when
each message was handed to it. Reports p50/p99 lag behind the due time, throughput, duplicates and
lost messages: on SQLite with one dispatcher, and on PostgreSQL with three dispatcher processes.

    PYTHONTZPATH= .venv/bin/python bench/reminders.py [--count 10000] [--skip-postgres]

PostgreSQL: $QUORUM_BENCH_POSTGRES_URL, else $QUORUM_TEST_POSTGRES_URL, else
postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_test. Only rows with keys ``bench:*`` are
touched. Targets: p99 lag < 1 s, zero duplicates, zero lost."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bot.clock import SystemClock
from bot.commands import catalog  # noqa: F401  (import order: commands before services)
from bot.config import Settings
from bot.contracts.outbound import OutboundMessage
from bot.services.outbox import OutboxDispatcher
from storage.db import Database
from storage.migrate import upgrade_sync

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_test"


class TimingNotifier:
    platform = "console"

    def __init__(self) -> None:
        self.sent: list[tuple[str, float]] = []

    async def send(self, message: OutboundMessage) -> str | None:
        self.sent.append((message.key, time.time()))
        return None


async def seed(url: str, count: int, due: datetime) -> None:
    """Write ``count`` rows due at ``due`` in one transaction (multi-row inserts: setup, not measured)."""
    db = Database(url)
    now = datetime.now(UTC)
    try:
        async with db.write() as session:
            await session.execute(text("DELETE FROM outbox WHERE key LIKE 'bench:%'"))
            rows = [{"key": f"bench:{n}", "workspace_id": "bench", "kind": "dm", "target": f"console:m{n % 500}",
                     "payload": '{"text": "Reminder: the meeting starts in 1 h"}', "due_at": due.replace(tzinfo=None),
                     "next_attempt_at": due.replace(tzinfo=None), "created_at": now.replace(tzinfo=None)}
                    for n in range(count)]
            statement = text(
                "INSERT INTO outbox (key, workspace_id, kind, target, payload, fallback_channel, due_at, expires_at, "
                "status, attempts, claimed_by, lease_until, next_attempt_at, sent_at, last_error, platform_ref, "
                "created_at) VALUES (:key, :workspace_id, :kind, :target, :payload, NULL, :due_at, NULL, 'pending', "
                "0, NULL, NULL, :next_attempt_at, NULL, NULL, NULL, :created_at)")
            await session.execute(statement, rows)
    finally:
        await db.dispose()


async def dispatch(url: str, worker: str, ready: multiprocessing.Queue, go: multiprocessing.Queue
                   ) -> list[tuple[str, float]]:
    """Like a running process: connected and idle, then woken at the due instant (as the ticker's
    precise wake-up does), sending until nothing is due."""
    db = Database(url)
    notifier = TimingNotifier()
    dispatcher = OutboxDispatcher(db, SystemClock(), Settings(database_url=url), {"console": notifier},
                                  worker=worker, batch=500)
    try:
        async with db.read() as session:  # open the pool before the due time, as a running process has
            await session.execute(text("SELECT 1"))
        ready.put(worker)
        due_ts = await asyncio.to_thread(go.get)
        await asyncio.sleep(max(0.0, due_ts - time.time()))
        while True:
            report = await dispatcher.dispatch_due()
            if report.sent == 0:
                break
    finally:
        await db.dispose()
    return notifier.sent


def _worker(url: str, worker: str, ready: multiprocessing.Queue, go: multiprocessing.Queue,
            results: multiprocessing.Queue) -> None:
    results.put(asyncio.run(dispatch(url, worker, ready, go)))


async def final_counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                text("SELECT status, count(*) FROM outbox WHERE key LIKE 'bench:%' GROUP BY status"))
            counts = {str(status): int(n) for status, n in rows.all()}
        async with db.write() as session:
            await session.execute(text("DELETE FROM outbox WHERE key LIKE 'bench:%'"))
        return counts
    finally:
        await db.dispose()


def run(label: str, url: str, count: int, processes: int) -> None:
    upgrade_sync(url)
    ctx = multiprocessing.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, f"bench-{i}", ready, go, results)) for i in range(processes)]
    for proc in procs:
        proc.start()
    for _ in procs:  # every dispatcher is up and connected
        ready.get()
    due = datetime.now(UTC) + timedelta(seconds=30)
    asyncio.run(seed(url, count, due))
    due = datetime.now(UTC) + timedelta(seconds=1)
    asyncio.run(_retime(url, due))
    asyncio.run(_vacuum(url))
    due = datetime.now(UTC) + timedelta(seconds=1)
    asyncio.run(_retime(url, due))
    due_ts = due.timestamp()
    for _ in procs:
        go.put(due_ts)
    sent = [entry for _ in procs for entry in results.get()]
    for proc in procs:
        proc.join()
    counts = asyncio.run(final_counts(url))
    keys = Counter(key for key, _ in sent)
    duplicates = sum(n - 1 for n in keys.values() if n > 1)
    lost = count - len(keys)
    lags = sorted(ts - due_ts for _, ts in sent)
    span = max(ts for _, ts in sent) - due_ts if sent else 0.0
    p50 = statistics.median(lags) if lags else float("nan")
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] if lags else float("nan")
    print(f"{label}: {count} reminders, {processes} dispatcher process(es): p50 lag {p50 * 1000:.0f} ms, "
          f"p99 lag {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms, throughput {len(sent) / span:.0f} msg/s, "
          f"duplicates {duplicates}, lost {lost}, rows {counts}")
    ok = p99 < 1.0 and duplicates == 0 and lost == 0 and counts.get("sent") == count
    print(f"{label}: {'PASS' if ok else 'FAIL'} (target p99 < 1 s, no duplicates, none lost)")


async def _vacuum(url: str) -> None:
    """What autovacuum does for a long-running table: the bench's bulk delete and insert would otherwise
    leave the table full of dead rows and its statistics saying it is empty."""
    db = Database(url)
    try:
        if db.sqlite:
            async with db.write() as session:
                await session.execute(text("ANALYZE outbox"))
        else:
            async with db.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE outbox"))
    finally:
        await db.dispose()


async def _retime(url: str, due: datetime) -> None:
    db = Database(url)
    try:
        async with db.write() as session:
            naive = due.replace(tzinfo=None)
            await session.execute(text("UPDATE outbox SET due_at = :d, next_attempt_at = :d WHERE key LIKE 'bench:%'"),
                                  {"d": naive})
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONTZPATH", "")
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite+aiosqlite:///{folder}/bench.db", args.count, 1)
    if not args.skip_postgres:
        url = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or os.environ.get("QUORUM_TEST_POSTGRES_URL") or DEFAULT_PG
        run("PostgreSQL", url, args.count, 3)


if __name__ == "__main__":
    main()
