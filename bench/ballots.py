"""Benchmark (issue 13, ballots): what a member feels of a vote with many ballots, and what a big vote's
close, verify and export do to the event loop.

- `/vote cast` and `/vote status` through the command Dispatcher: median over CASTS commands on a vote
  with 1,000 and with 100,000 ballots (target: large within 1.25x of small).
- the longest event-loop stall while `/vote close force=yes` closes a vote of 1,000 and of 10,000 ballots,
  and while `quorum verify` and `quorum export --format json` run over 1,000 and 100,000 (target: a few ms,
  at most 10). A ticker task sleeps 1 ms in a loop and records the gaps between its wake-ups, in wall
  time and in CPU time of the loop's thread (on a loaded machine the wall gaps include time the OS gave
  the core to other processes; the CPU gaps are the work that held the loop).

The ballots are loaded with bulk inserts of exactly the rows a cast writes (the same hash chain, built
with bot.rules.audit.next_event, and the same ballot row): casting 100,000 ballots one command at a time
would measure the setup. Every case runs on a fresh database (a temporary SQLite file, removed after; or
the PostgreSQL database of QUORUM_BENCH_POSTGRES_URL, whose schema is dropped and recreated).

Run: PYTHONPATH=. .venv/bin/python bench/ballots.py [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("PYTHONTZPATH", "")

from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import build_services, settle_heap
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401  (registers the commands)
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import RoleConfig, Settings
from bot.rules.audit import Event, canonical, next_event
from bot.services.votes import event_time
from storage.db import Database
from storage.migrate import upgrade
from storage.queries import votes as q

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_ballots"
ELECTORATE = 60  # members of PMC; the first half of them voted, the rest of the ballots are non-binding
CASTS = 25  # commands timed per case
START = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
VALUES = ("+1", "+1", "0", "-1", "+0")
CHUNK = 5_000
EVENTS = SQLModel.metadata.tables["vote_event"]
BALLOTS = SQLModel.metadata.tables["ballot"]


class Bench:
    def __init__(self, url: str) -> None:
        self.url = url
        members = tuple(f"console:pmc{i}" for i in range(ELECTORATE))
        self.settings = Settings(database_url=url, roles={"PMC": RoleConfig("PMC", members=members)})
        self.clock = ManualClock(START)
        self.db = Database(url)
        self.services = build_services(self.db, self.clock, self.settings)
        self.dispatcher = Dispatcher(self.services)
        self.chair = self.actor("pmc0", chair=True)

    def actor(self, name: str, chair: bool = False) -> Any:
        return make_actor(self.settings, workspace_id="bench", platform="console", member_id=f"console:{name}",
                          display_name=name, platform_roles=frozenset({"PMC"} if chair else ()))

    async def vote_with(self, ballots: int) -> int:
        """A vote whose log and tables hold ``ballots`` ballots, as that many casts would leave them."""
        view = await self.services.votes.open(self.chair, f"Vote of {ballots}")
        async with self.db.read() as session:
            last = await q.last_event(session, view.id)
        assert last is not None
        prev = Event(view.id, last.seq, last.kind, event_time(last.created_at), json.loads(last.payload),
                     last.prev_hash, last.hash)
        events: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for i in range(ballots):
            binding = i < ELECTORATE // 2
            voter = f"console:pmc{i}" if binding else f"console:guest{i}"
            self.clock.advance(timedelta(milliseconds=1))
            value = VALUES[i % len(VALUES)]
            payload = json.loads(canonical({"voter": voter, "voter_name": voter[8:], "value": value,
                                            "comment": None, "binding": binding, "previous": None}))
            prev = next_event(prev, view.id, "ballot", event_time(self.clock.now()), payload)
            events.append({"vote_id": view.id, "seq": prev.seq, "kind": "ballot",
                           "payload": canonical(payload).decode("utf-8"), "created_at": self.clock.now(),
                           "prev_hash": prev.prev_hash, "hash": prev.hash})
            rows.append({"vote_id": view.id, "voter": voter, "voter_name": voter[8:], "value": value,
                         "comment": None, "binding": binding, "cast_at": self.clock.now(), "changes": 0})
        for start in range(0, ballots, CHUNK):
            async with self.db.write() as session:
                await session.execute(insert(EVENTS), events[start:start + CHUNK])
                await session.execute(insert(BALLOTS), rows[start:start + CHUNK])
        async with self.db.write() as session:
            await q.update_vote(session, view.id, head_digest=prev.hash)
            await q.recount_tally(session, view.id)  # the ballots went in directly, past the running tally
        return view.id

    async def median_ms(self, command: Callable[[int], Awaitable[Any]]) -> float:
        timings = []
        for i in range(CASTS):
            gc.collect()
            started = time.perf_counter()
            await command(i)
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings)

    async def run(self, text: str, who: Any) -> None:
        reply = await self.dispatcher.run_text(text, who)
        assert reply.ok, reply.text

    async def stall_ms(self, work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
        """The longest gap between wake-ups of a task that sleeps 1 ms, while ``work`` runs: in wall time,
        and in CPU time of the loop's thread (the work itself, without the time this loaded machine's
        other processes took the core away)."""
        gaps: list[tuple[float, float]] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter(), time.thread_time()
            while not done.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter(), time.thread_time()
                gaps.append((now[0] - last[0], now[1] - last[1]))
                last = now

        settle_heap()  # as `quorum run` does once started: set-up objects out of the collector's sight
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        gaps.clear()
        try:
            await work()
        finally:
            done.set()
            await task
        return max(g[0] for g in gaps) * 1000, max(g[1] for g in gaps) * 1000

    async def close(self) -> None:
        await self.db.dispose()


async def fresh(kind: str, postgres: str, workdir: Path) -> str:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp(dir=workdir)) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        import asyncpg

        parsed = make_url(postgres)
        conn = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                     user=parsed.username or "postgres", password=parsed.password,
                                     database=parsed.database)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
        url = postgres
    await upgrade(url)
    return url


async def case(kind: str, postgres: str, workdir: Path, ballots: int,
               measure: Callable[[Bench, int], Awaitable[dict[str, float]]]) -> dict[str, float]:
    bench = Bench(await fresh(kind, postgres, workdir))
    try:
        vote_id = await bench.vote_with(ballots)
        return await measure(bench, vote_id)
    finally:
        await bench.close()


async def commands(bench: Bench, vote_id: int) -> dict[str, float]:
    async def cast(i: int) -> None:
        bench.clock.advance(timedelta(seconds=1))
        await bench.run(f"/vote cast #{vote_id} {VALUES[i % len(VALUES)]}", bench.actor(f"late{i}"))

    async def status(i: int) -> None:
        await bench.run(f"/vote status #{vote_id}", bench.actor(f"late{i}"))

    return {"cast": await bench.median_ms(cast), "status": await bench.median_ms(status)}


async def loop_stalls(bench: Bench, vote_id: int) -> dict[str, float]:
    async def verify() -> None:
        report = await bench.services.vote_audit.verify()
        assert report.problem is None, report.problem

    async def export() -> None:
        assert len(await bench.services.export.as_json()) > 0

    found: dict[str, float] = {}
    for key, work in (("verify", verify), ("export", export)):
        found[key], found[key + " cpu"] = await bench.stall_ms(work)
    return found


async def close_stall(bench: Bench, vote_id: int) -> dict[str, float]:
    async def close() -> None:
        await bench.run(f"/vote close #{vote_id} force=yes", bench.chair)

    wall, cpu = await bench.stall_ms(close)
    return {"close": wall, "close cpu": cpu}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--close-large", type=int, default=10_000)
    args = parser.parse_args()
    postgres = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES
    workdir = Path(tempfile.mkdtemp(prefix="quorum-bench-ballots-"))
    try:
        small: dict[str, float] = {}
        large: dict[str, float] = {}
        for size, into in ((args.small, small), (args.large, large)):
            into.update(await case(args.db, postgres, workdir, size, commands))
            into.update(await case(args.db, postgres, workdir, size, loop_stalls))
        small.update(await case(args.db, postgres, workdir, args.small, close_stall))
        large.update(await case(args.db, postgres, workdir, args.close_large, close_stall))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nballots on {args.db}: small = {args.small:,} ballots, large = {args.large:,} "
          f"(close: {args.close_large:,}); electorate {ELECTORATE}\n")
    print("| case | small | large | ratio | target |")
    print("|---|---|---|---|---|")
    rows = (("/vote cast, median ms", "cast", "large <= 1.25x small"),
            ("/vote status, median ms", "status", "large <= 1.25x small"),
            ("/vote close force=yes, longest loop stall ms", "close", "<= 10 ms"),
            ("  same, loop-thread CPU ms", "close cpu", "<= 10 ms"),
            ("quorum verify, longest loop stall ms", "verify", "<= 10 ms"),
            ("  same, loop-thread CPU ms", "verify cpu", "<= 10 ms"),
            ("quorum export --format json, longest loop stall ms", "export", "<= 10 ms"),
            ("  same, loop-thread CPU ms", "export cpu", "<= 10 ms"))
    for label, key, target in rows:
        ratio = large[key] / small[key] if small[key] else float("nan")
        print(f"| {label} | {small[key]:.1f} | {large[key]:.1f} | {ratio:.2f}x | {target} |")


if __name__ == "__main__":
    asyncio.run(main())
