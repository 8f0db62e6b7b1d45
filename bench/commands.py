"""Benchmark: 50 concurrent members adding and listing agenda items through the service layer on SQLite.

Prints p50/p99 latency per command and commands/s, and, in the same run, the raw aiosqlite
insert+commit rate of the same rows as the baseline (same file system, same pragmas).
Targets (issue 2): p99 <= 15 ms, throughput >= 0.5x the baseline.

Run: .venv/bin/python bench/commands.py [--members 50] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("PYTHONTZPATH", "")

import aiosqlite

from bot.clock import ManualClock
from bot.commands.context import make_actor
from bot.config import RoleConfig, Settings
from bot.rules.links import normalize_link
from bot.rules.parsing import parse_time
from bot.services import Services
from storage.db import Database
from storage.migrate import upgrade

WEEKS = 52


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run_services(path: Path, members: int, rounds: int) -> tuple[list[float], float, list[tuple]]:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    settings = Settings(database_url=url, roles={"PMC": RoleConfig("PMC")})
    clock = ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC))
    db = Database(url)
    services = Services(db, clock, settings)
    chair = make_actor(settings, workspace_id="bench", platform="console", member_id="console:chair",
                       display_name="chair", platform_roles=frozenset({"PMC"}))
    await services.members.touch(chair)
    await services.meetings.create_series(chair, slug="bench", name="Bench", weekday=2, local_time=parse_time("08:00"),
                                          timezone="America/Los_Angeles", start=date(2022, 3, 2))
    actors = [make_actor(settings, workspace_id="bench", platform="console", member_id=f"console:m{i}",
                         display_name=f"m{i}") for i in range(members)]
    for actor in actors:
        await services.members.touch(actor)
    latencies: list[float] = []
    rows: list[tuple] = []

    async def member(index: int) -> None:
        actor = actors[index]
        for round_ in range(rounds):
            day = date(2022, 3, 2) + timedelta(weeks=(index + round_ * members) % WEEKS)
            link = f"https://github.com/org/repo/issues/{index}-{round_}"
            started = time.perf_counter()
            added = await services.agenda.add(actor, f"Item {index}/{round_}", link, None, day)
            latencies.append(time.perf_counter() - started)
            rows.append((added.item.title, link, normalize_link(link), actor.member_id))
            started = time.perf_counter()
            await services.agenda.list("bench", None, day)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(member(i) for i in range(members)))
    elapsed = time.perf_counter() - started
    await db.dispose()
    return latencies, elapsed, rows


async def run_baseline(path: Path, rows: list[tuple]) -> float:
    """The same rows inserted with plain aiosqlite, one insert+commit each: SQLite's own write rate here."""
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, meeting_id INT, position INT, title TEXT, "
                           "link TEXT, link_key TEXT, author TEXT, author_name TEXT, added_at TEXT, "
                           "UNIQUE (meeting_id, link_key))")
        await conn.commit()
        started = time.perf_counter()
        for position, (title, link, key, author) in enumerate(rows):
            await conn.execute(
                "INSERT INTO item (meeting_id, position, title, link, link_key, author, author_name, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (position % WEEKS, position, title, link, key, author, author,
                                                      "2022-03-01T12:00:00"))
            await conn.commit()
        return len(rows) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        latencies, elapsed, rows = await run_services(Path(tmp) / "bench.db", args.members, args.rounds)
        baseline = await run_baseline(Path(tmp) / "baseline.db", rows)
    adds = len(rows)
    commands = len(latencies)
    print(f"members={args.members} rounds={args.rounds} commands={commands} (adds={adds}, lists={commands - adds})")
    print(f"latency p50={percentile(latencies, 0.5) * 1000:.2f} ms  p99={percentile(latencies, 0.99) * 1000:.2f} ms"
          f"  mean={statistics.mean(latencies) * 1000:.2f} ms")
    print(f"throughput={commands / elapsed:.0f} commands/s  ({adds / elapsed:.0f} adds/s)")
    print(f"baseline raw aiosqlite insert+commit={baseline:.0f} rows/s")
    print(f"ratio commands/s : baseline = {commands / elapsed / baseline:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
