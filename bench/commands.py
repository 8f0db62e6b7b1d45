"""Benchmark: 50 concurrent members adding and listing agenda items through the service layer on SQLite.

Two phases, in one run:
- saturation: every member issues its next command as soon as the previous one is answered (closed
  loop); prints p50/p99 latency and commands/s. In a closed loop latency is the number of members
  over the throughput (Little's law): at 50 members a 15 ms p99 would need more than 3,300 commands/s,
  so this phase measures throughput, and its latencies are queueing.
- paced: the same 50 members each issue one add and one list every --interval seconds (open loop, as
  people do); prints p50/p99 latency at that offered load. This is the phase the p99 target is for.
Then the raw aiosqlite insert+commit rate of the same rows (same file system, same pragmas, one
transaction per row) as the baseline. Targets (issue 2): p99 <= 15 ms, throughput >= 0.5x the baseline.
It also prints how many disk commits the adds needed (storage/group_commit.py shares them). Each phase
and the baseline run --repeat times, alternated: the ratio is of the medians, and the paced p99 is over
every run's commands (one run lasts seconds, and this machine's disk and CPU vary from run to run).
As ``quorum run`` does once started, the bench first takes its start-up objects out of the garbage
collector's sight (bot.app.settle_heap), so that a full collection is not a 70-90 ms pause.

Run: .venv/bin/python bench/commands.py [--members 50] [--rounds 10] [--interval 0.5] [--repeat 5]
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

from bot.app import settle_heap
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


commits: list[int] = []  # disk commits per phase, appended by run_services


async def run_services(
    path: Path, members: int, rounds: int, interval: float | None = None
) -> tuple[list[float], float, list[tuple]]:
    """Closed loop when ``interval`` is None; otherwise each member starts a command every ``interval``
    seconds (staggered), whether or not the previous one has finished."""
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

    async def add(actor_index: int, round_: int) -> None:
        actor = actors[actor_index]
        day = date(2022, 3, 2) + timedelta(weeks=(actor_index + round_ * members) % WEEKS)
        link = f"https://github.com/org/repo/issues/{actor_index}-{round_}"
        started = time.perf_counter()
        added = await services.agenda.add(actor, f"Item {actor_index}/{round_}", link, None, day)
        latencies.append(time.perf_counter() - started)
        rows.append((added.item.title, link, normalize_link(link), actor.member_id))

    async def listing(actor_index: int, round_: int) -> None:
        day = date(2022, 3, 2) + timedelta(weeks=(actor_index + round_ * members) % WEEKS)
        started = time.perf_counter()
        await services.agenda.list("bench", None, day)
        latencies.append(time.perf_counter() - started)

    async def closed_loop(index: int) -> None:
        for round_ in range(rounds):
            await add(index, round_)
            await listing(index, round_)

    async def paced(index: int) -> None:
        assert interval is not None
        await asyncio.sleep(interval * index / members)  # stagger the members over one interval
        pending = []
        for round_ in range(rounds):
            pending.append(asyncio.ensure_future(add(index, round_)))
            await asyncio.sleep(interval / 2)
            pending.append(asyncio.ensure_future(listing(index, round_)))
            await asyncio.sleep(interval / 2)
        await asyncio.gather(*pending)

    commits_before = db.disk_commits
    assert commits_before is not None
    started = time.perf_counter()
    await asyncio.gather(*((closed_loop if interval is None else paced)(i) for i in range(members)))
    elapsed = time.perf_counter() - started
    commits.append((db.disk_commits or 0) - commits_before)
    await db.dispose()
    return latencies, elapsed, rows


async def run_baseline(path: Path, rows: list[tuple]) -> float:
    """The same rows inserted with plain aiosqlite, one insert+commit each: SQLite's own write rate here."""
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
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
    parser.add_argument("--interval", type=float, default=0.5, help="paced phase: seconds between a member's adds")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each phase and of the baseline")
    args = parser.parse_args()
    settle_heap()
    throughputs: list[float] = []
    baselines: list[float] = []
    paced: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            latencies, elapsed, rows = await run_services(Path(tmp) / f"bench{run}.db", args.members, args.rounds)
            throughputs.append(len(latencies) / elapsed)
            saturation_commits = commits[-1]
            baselines.append(await run_baseline(Path(tmp) / f"baseline{run}.db", rows))
            paced_run, _, _ = await run_services(Path(tmp) / f"paced{run}.db", args.members, args.rounds,
                                                 args.interval)
            paced.extend(paced_run)
            print(f"run {run + 1}: saturation p50={percentile(latencies, 0.5) * 1000:.2f} ms  "
                  f"p99={percentile(latencies, 0.99) * 1000:.2f} ms  throughput={throughputs[-1]:.0f} commands/s  "
                  f"disk commits for {len(rows)} adds={saturation_commits}  baseline={baselines[-1]:.0f} rows/s  "
                  f"paced p99={percentile(paced_run, 0.99) * 1000:.2f} ms")
    adds = len(rows)
    commands = len(latencies)
    throughput, baseline = statistics.median(throughputs), statistics.median(baselines)
    print(f"members={args.members} rounds={args.rounds} commands per run={commands} (adds={adds}, "
          f"lists={commands - adds}), runs={args.repeat}")
    print(f"saturation throughput (median of runs)={throughput:.0f} commands/s")
    offered = args.members / args.interval * 2
    print(f"paced ({offered:.0f} commands/s offered, all runs' {len(paced)} commands): "
          f"p50={percentile(paced, 0.5) * 1000:.2f} ms  p99={percentile(paced, 0.99) * 1000:.2f} ms")
    print(f"baseline raw aiosqlite insert+commit (median)={baseline:.0f} rows/s")
    print(f"ratio commands/s : baseline = {throughput / baseline:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
