"""Benchmark of what members feel, on SQLite and PostgreSQL, printed as one Markdown table with targets.

Every command goes through the path an adapter uses: ``Dispatcher.run_text`` with an actor from
``make_actor`` (a button click runs the button's own action text). The clock is a ManualClock on a fixed
date, so the figures do not depend on the day the bench runs; the SQLite file lives in a temporary
directory that is removed even on error; the PostgreSQL database is reset and migrated first.

The community has a realistic history before anything is measured: a year of weekly meetings with 4
agenda items each, and --history-votes closed votes of --ballots ballots each (cast through the vote
service, a few at a time, as members would). The default 20 x 200 ballots keeps the seeding near a
minute on this 2-core machine: on the code of issue 13's start each cast reloads every ballot, so the
seeding is quadratic in --ballots (20 x 500 took about 5 minutes with the machine shared). Then, in one process:

1. paced (open loop): --members members each send a command every --interval seconds on average
   (uniform 0.5-1.5x, seeded), cycling through /agenda add, /agenda list, /meeting next and /vote cast,
   for --seconds. Target: p99 <= 15 ms for each command.
2. burst (open loop): --burst members each click the +1 button of one open vote once, arrivals spread
   uniformly (seeded) over --burst-seconds. Targets: every click answered (0 errors), p99 <= 250 ms,
   max < 1 s.
3. burst + export + verify: the same burst on a second vote while the service behind
   ``quorum export --format json`` and the one behind ``quorum verify`` run in the same process, started
   together with it; a ticker that sleeps 1 ms records how late it wakes (bench/loop_lag.py).
   Targets: loop lag p99 <= 10 ms, max <= 50 ms.
4. information only, no target: saturation (each member sends its next /agenda add as soon as the last
   is answered), and the same rows inserted with the raw driver (aiosqlite / asyncpg) one transaction
   per row, which is what each /agenda add also commits: the ratio is the old "share of raw insert+commit".

Run (postgres URL from QUORUM_BENCH_POSTGRES_URL, default the local quorum_bench database; it is wiped):
    PYTHONPATH=. .venv/bin/python bench/commands.py [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ["PYTHONTZPATH"] = ""
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
import asyncpg
from sqlalchemy.engine import make_url

from bench.loop_lag import LagProbe, percentile
from bot.app import build_services, settle_heap
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401  (registers the commands)
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import RoleConfig, Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from storage.db import Database
from storage.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_bench"
# History starts on Tuesday 2021-02-23; the measured commands run on Tuesday 2022-03-01 12:00 UTC, four
# hours before the agenda deadline of Wednesday's 08:00 America/Los_Angeles meeting.
HISTORY_START = datetime(2021, 2, 23, 12, 0, tzinfo=UTC)
NOW = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
NEXT_MEETING = date(2022, 3, 2)
FUTURE_WEEKS = 26  # paced and saturation adds are spread over this many upcoming meetings (50 items max each)
COMMANDS = ("agenda add", "agenda list", "meeting next", "vote cast")
WORKSPACE = "bench"


@dataclass
class Figures:
    """Everything measured on one database, in milliseconds unless named otherwise."""

    paced: dict[str, list[float]] = field(default_factory=dict)
    paced_errors: int = 0
    paced_lag: LagProbe = field(default_factory=LagProbe)
    offered: float = 0.0
    burst: list[float] = field(default_factory=list)
    burst_errors: int = 0
    burst_lag: LagProbe = field(default_factory=LagProbe)
    loaded_burst: list[float] = field(default_factory=list)
    loaded_errors: int = 0
    loaded_lag: LagProbe = field(default_factory=LagProbe)
    export_ms: float = 0.0
    export_bytes: int = 0
    verify_ms: float = 0.0
    verified_events: int = 0
    saturation_rate: float = 0.0
    raw_rate: float = 0.0
    seed_seconds: float = 0.0


class Bench:
    def __init__(self, url: str, args: argparse.Namespace) -> None:
        self.url = url
        self.args = args
        people = max(args.ballots, args.burst, args.members)
        self.settings = Settings(
            database_url=url,
            roles={"PMC": RoleConfig("PMC", members=tuple(f"console:m{i}" for i in range(people)))},
            chair_roles=("PMC",), binding_role="PMC", default_display_zones=("UTC",),
        )
        self.clock = ManualClock(HISTORY_START)
        self.db = Database(url)
        self.services = build_services(self.db, self.clock, self.settings)
        self.dispatcher = Dispatcher(self.services)
        self.chair = self.actor("chair", chair=True)
        self.members = [self.actor(f"m{i}") for i in range(people)]
        self.random = random.Random(13)
        self.figures = Figures()

    def actor(self, name: str, chair: bool = False) -> Actor:
        return make_actor(self.settings, workspace_id=WORKSPACE, platform="console", member_id=f"console:{name}",
                          display_name=name, platform_roles=frozenset({"PMC"}) if chair else frozenset())

    async def run(self, text: str, actor: Actor) -> Reply:
        reply = await self.dispatcher.run_text(text, actor)
        assert reply.ok, f"{text}: {reply.text}"
        return reply

    # -- the community's history ---------------------------------------------------------------
    async def seed(self) -> None:
        started = time.perf_counter()
        await self.run('/meeting series create slug=community name="Community meeting" weekday=wed time=08:00 '
                       f"tz=America/Los_Angeles zones=UTC,Europe/Berlin start={HISTORY_START.date()}", self.chair)
        for actor in self.members:
            await self.services.members.touch(actor)
        for week in range(52):  # each Tuesday, four members add to Wednesday's agenda
            self.clock.set(HISTORY_START + timedelta(weeks=week))
            for n in range(4):
                await self.run(f'/agenda add "Week {week} item {n}" https://github.com/org/repo/issues/{week}-{n}',
                               self.members[(week * 4 + n) % len(self.members)])
        for number in range(self.args.history_votes):
            self.clock.set(HISTORY_START + timedelta(weeks=2 * number + 1))
            view = await self.services.votes.open(self.chair, f"Decision {number}")
            voters = iter(enumerate(self.members[: self.args.ballots]))
            # A few members at a time, as a busy vote sees them; all casters share the one iterator.
            await asyncio.gather(*(self.cast_all(view.id, voters, number) for _ in range(8)))
            await self.services.votes.close(self.chair, view.id, force=True)
        self.clock.set(NOW)
        self.figures.seed_seconds = time.perf_counter() - started

    async def cast_all(self, vote_id: int, voters: Iterator[tuple[int, Actor]], number: int) -> None:
        values = ("+1", "+1", "+0", "0", "+1")
        for index, voter in voters:
            await self.services.votes.cast(voter, vote_id, values[(index + number) % len(values)])

    # -- 1. members typing, paced ---------------------------------------------------------------
    async def paced(self) -> None:
        args, figures = self.args, self.figures
        vote = await self.open_vote("Paced vote")
        figures.paced = {name: [] for name in COMMANDS}
        figures.offered = args.members / args.interval
        future = [NEXT_MEETING + timedelta(weeks=w) for w in range(FUTURE_WEEKS)]
        pending: list[asyncio.Task[None]] = []

        async def one(name: str, text: str, actor: Actor) -> None:
            started = time.perf_counter()
            try:
                reply = await self.dispatcher.run_text(text, actor)
                ok = reply.ok
            except Exception:
                ok = False
            figures.paced[name].append((time.perf_counter() - started) * 1000)
            figures.paced_errors += not ok

        async def member(index: int, actor: Actor, rng: random.Random) -> None:
            await asyncio.sleep(rng.uniform(0, args.interval))
            elapsed, turn = 0.0, index
            while elapsed < args.seconds:
                name = COMMANDS[turn % len(COMMANDS)]
                day = future[(index + turn) % len(future)]
                text = {
                    "agenda add": f'/agenda add "Paced {index}/{turn}" https://github.com/org/repo/pull/{index}-{turn} '
                                  f"date={day}",
                    "agenda list": f"/agenda list date={day}" if turn % 2 else "/agenda list",
                    "meeting next": "/meeting next",
                    "vote cast": f"/vote cast #{vote} {'+1' if turn % 2 else '0'}",
                }[name]
                pending.append(asyncio.create_task(one(name, text, actor)))  # open loop: do not wait for it
                gap = rng.uniform(0.5, 1.5) * args.interval
                await asyncio.sleep(gap)
                elapsed += gap
                turn += 1

        async with figures.paced_lag:
            await asyncio.gather(*(member(i, a, random.Random(i)) for i, a in enumerate(self.members[:args.members])))
            await asyncio.gather(*pending)

    # -- 2. and 3. a burst of clicks on one vote's +1 button ----------------------------------------
    async def open_vote(self, title: str) -> int:
        reply = await self.run(f'/vote open "{title}"', self.chair)
        return int(reply.data["vote"]["id"])

    async def burst(self, title: str, latencies: list[float]) -> int:
        """Returns the number of clicks not answered with success."""
        reply = await self.run(f'/vote open "{title}"', self.chair)
        action = next(b.action for b in reply.buttons if b.action.endswith("+1"))
        arrivals = sorted(self.random.uniform(0, self.args.burst_seconds) for _ in range(self.args.burst))
        errors = 0
        start = time.perf_counter()

        async def click(at: float, actor: Actor) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            started = time.perf_counter()
            try:
                ok = (await self.dispatcher.run_text(action, actor)).ok
            except Exception:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

        await asyncio.gather(*(click(at, actor) for at, actor in zip(arrivals, self.members, strict=False)))
        return errors

    async def quiet_burst(self) -> None:
        async with self.figures.burst_lag:
            self.figures.burst_errors = await self.burst("Burst", self.figures.burst)

    async def loaded_burst(self) -> None:
        figures = self.figures

        async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
            started = time.perf_counter()
            result = await work()
            return (time.perf_counter() - started) * 1000, result

        async with figures.loaded_lag:
            errors, (figures.export_ms, exported), (figures.verify_ms, report) = await asyncio.gather(
                self.burst("Burst under load", figures.loaded_burst),
                timed(lambda: self.services.export.as_json(None)),
                timed(self.services.vote_audit.verify),
            )
        figures.loaded_errors = errors
        figures.export_bytes = len(exported)
        assert report.problem is None, report.problem
        figures.verified_events = report.events

    # -- 4. information: saturation and the raw driver's insert+commit ------------------------------
    async def saturation(self) -> list[tuple[str, str, str]]:
        rows: list[tuple[str, str, str]] = []
        future = [NEXT_MEETING + timedelta(weeks=w) for w in range(FUTURE_WEEKS)]
        rounds = self.args.saturation_rounds

        async def member(index: int, actor: Actor) -> None:
            for turn in range(rounds):
                title, link = f"Saturation {index}/{turn}", f"https://github.com/org/repo/issues/s{index}-{turn}"
                await self.run(f'/agenda add "{title}" {link} date={future[(index + turn) % len(future)]}', actor)
                rows.append((title, link, actor.member_id))

        started = time.perf_counter()
        await asyncio.gather(*(member(i, a) for i, a in enumerate(self.members[:self.args.members])))
        self.figures.saturation_rate = len(rows) / (time.perf_counter() - started)
        return rows


async def raw_sqlite(path: Path, rows: list[tuple[str, str, str]]) -> float:
    """The same rows with plain aiosqlite, one insert+commit each, in a file next to the bench's."""
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, title TEXT, link TEXT, author TEXT, "
                           "added_at TEXT)")
        await conn.commit()
        started = time.perf_counter()
        for row in rows:
            await conn.execute("INSERT INTO item (title, link, author, added_at) VALUES (?, ?, ?, ?)",
                               (*row, NOW.isoformat()))
            await conn.commit()
        return len(rows) / (time.perf_counter() - started)


async def pg_connect(url: str) -> Any:
    parsed = make_url(url)
    return await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                 user=parsed.username or "postgres", password=parsed.password,
                                 database=parsed.database, timeout=5)


async def raw_postgres(url: str, rows: list[tuple[str, str, str]]) -> float:
    """The same rows with plain asyncpg, one insert (its own transaction) each, in a scratch table."""
    conn = await pg_connect(url)
    try:
        await conn.execute("CREATE TABLE bench_raw_item (id SERIAL PRIMARY KEY, title TEXT, link TEXT, "
                           "author TEXT, added_at TIMESTAMPTZ)")
        started = time.perf_counter()
        for row in rows:
            await conn.execute("INSERT INTO bench_raw_item (title, link, author, added_at) VALUES ($1, $2, $3, $4)",
                               *row, NOW)
        rate = len(rows) / (time.perf_counter() - started)
        await conn.execute("DROP TABLE bench_raw_item")
        return rate
    finally:
        await conn.close()


async def reset_postgres(url: str) -> None:
    conn = await pg_connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def measure(kind: str, args: argparse.Namespace) -> Figures:
    tmp = Path(tempfile.mkdtemp(prefix="quorum-bench-"))
    try:
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        else:
            url = args.postgres_url
            await reset_postgres(url)
        await upgrade(url)
        bench = Bench(url, args)
        try:
            print(f"[{kind}] seeding the history ...", file=sys.stderr, flush=True)
            await bench.seed()
            settle_heap()  # as `quorum run` does once started
            print(f"[{kind}] seeded in {bench.figures.seed_seconds:.0f} s; paced ...", file=sys.stderr, flush=True)
            await bench.paced()
            print(f"[{kind}] burst ...", file=sys.stderr, flush=True)
            await bench.quiet_burst()
            print(f"[{kind}] burst + export + verify ...", file=sys.stderr, flush=True)
            await bench.loaded_burst()
            print(f"[{kind}] saturation and raw driver ...", file=sys.stderr, flush=True)
            rows = await bench.saturation()
        finally:
            await bench.db.dispose()
        bench.figures.raw_rate = await (raw_sqlite(tmp / "raw.db", rows) if kind == "sqlite"
                                        else raw_postgres(url, rows))
        return bench.figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ms(value: float) -> str:
    return f"{value:.1f}"


def spread(values: list[float]) -> str:
    """p50 / p99 / max in ms."""
    return f"{ms(percentile(values, 0.5))} / {ms(percentile(values, 0.99))} / {ms(max(values))}"


def met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def table(results: dict[str, Figures], args: argparse.Namespace) -> str:
    kinds = list(results)
    rows: list[tuple[str, str, list[str]]] = []

    def row(name: str, target: str, cell: Callable[[Figures], str]) -> None:
        rows.append((name, target, [cell(results[k]) for k in kinds]))

    def paced(name: str) -> Callable[[Figures], str]:
        return lambda f: f"{spread(f.paced[name])} ({met(percentile(f.paced[name], 0.99) <= 15)})"

    for name in COMMANDS:
        row(f"paced /{name}: p50 / p99 / max ms", "p99 ≤ 15 ms", paced(name))
    row("paced: commands (errors)", "0 errors",
        lambda f: f"{sum(map(len, f.paced.values()))} ({f.paced_errors}) ({met(f.paced_errors == 0)})")
    row(f"burst: {args.burst} clicks in {args.burst_seconds:g} s, errors", "0",
        lambda f: f"{f.burst_errors} of {len(f.burst)} ({met(f.burst_errors == 0 and len(f.burst) == args.burst)})")
    row("burst: p50 / p99 / max ms", "p99 ≤ 250, max < 1000",
        lambda f: f"{spread(f.burst)} ({met(percentile(f.burst, 0.99) <= 250 and max(f.burst) < 1000)})")
    row("loop lag, burst + export + verify: p99 / max ms", "p99 ≤ 10, max ≤ 50",
        lambda f: f"{ms(f.loaded_lag.p99_ms)} / {ms(f.loaded_lag.max_ms)} "
                  f"({met(f.loaded_lag.p99_ms <= 10 and f.loaded_lag.max_ms <= 50)})")
    row("(info) burst beside export + verify: errors; p50 / p99 / max ms", "",
        lambda f: f"{f.loaded_errors}; {spread(f.loaded_burst)}")
    row("(info) export JSON / verify, each beside the burst: ms", "",
        lambda f: f"{f.export_ms:.0f} ({f.export_bytes / 1e6:.1f} MB) / {f.verify_ms:.0f} "
                  f"({f.verified_events} events)")
    row("(info) loop lag while paced: p99 / max ms", "",
        lambda f: f"{ms(f.paced_lag.p99_ms)} / {ms(f.paced_lag.max_ms)}")
    row("(info) loop lag during the burst alone: p99 / max ms", "",
        lambda f: f"{ms(f.burst_lag.p99_ms)} / {ms(f.burst_lag.max_ms)}")
    row("(info) saturation /agenda add, closed loop: commands/s", "", lambda f: f"{f.saturation_rate:.0f}")
    row("(info) raw driver insert+commit of the same rows: rows/s", "", lambda f: f"{f.raw_rate:.0f}")
    row("(info) ratio saturation : raw", "", lambda f: f"{f.saturation_rate / f.raw_rate:.2f}")
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [f"| Figure | Target | {' | '.join(names[k] for k in kinds)} |",
             f"|---|---|{'---|' * len(kinds)}"]
    lines += [f"| {name} | {target} | {' | '.join(cells)} |" for name, target, cells in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
                        help="a scratch database: it is wiped and migrated")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--interval", type=float, default=2.5, help="paced: mean seconds between a member's commands")
    parser.add_argument("--seconds", type=float, default=30, help="paced: how long members keep typing")
    parser.add_argument("--burst", type=int, default=300, help="members clicking the +1 button")
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument("--history-votes", type=int, default=20, help="closed votes in the history")
    parser.add_argument("--ballots", type=int, default=200, help="ballots per closed vote in the history")
    parser.add_argument("--saturation-rounds", type=int, default=4, help="/agenda add per member, closed loop")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = {kind: await measure(kind, args) for kind in kinds}
    seeded = ", ".join(f"{kind} {results[kind].seed_seconds:.0f} s" for kind in kinds)
    print(f"Clock fixed at {NOW:%Y-%m-%d %H:%M} UTC. History: 52 weekly meetings x 4 agenda items, "
          f"{args.history_votes} closed votes x {args.ballots} ballots (seeded in {seeded}). Paced: {args.members} "
          f"members, a command every {args.interval:g} s on average each "
          f"({args.members / args.interval:.0f} commands/s offered) for {args.seconds:g} s. Load average at the end: "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs.\n")
    print(table(results, args))


if __name__ == "__main__":
    asyncio.run(main())
