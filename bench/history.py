"""Benchmark: does a command's cost grow with a series' history? (issue 13, item 4 "history")

Builds a workspace with a weekly series and a rotation roster (8 hosts, 8 note-takers), then lives through
its history week by week through the real commands: two agenda items per meeting, a skip every 5th week,
a chair's assignment every 7th week, an accepted swap every 11th week, and the assignment fixed at each
agenda deadline by the ticker job (``fix_due``). It does so once for 1 week and once for 10 years (520
meetings), each in a fresh database, and then times, with the clock at the same point of the week (the
agenda of the next meeting open):

- ``/agenda add`` (through the command Dispatcher),
- ``/rotation show``,
- ``/meeting next``,
- the calendar page (``GET /`` of bot/web/routes.py, through aiohttp's test client).

Prints a Markdown table: case | 1 week ms | 10 years ms | ratio | target <= 1.25 (medians of --repeat
runs, perf_counter, after 3 untimed warm-up runs of each case). The machine is shared and its load
changes by the minute, so the two cases are timed side by side: on SQLite both databases stay open and
their runs alternate; on PostgreSQL (one database) the 1-week case is timed before and after the long one.
The clock is a ManualClock at a fixed date, so the result does not depend on the day it runs; the
SQLite files live in a temporary directory that is removed at the end.

Run: PYTHONPATH=. .venv/bin/python bench/history.py [--db sqlite|postgres] [--repeat 20] [--years 10]
With --db postgres the database is QUORUM_BENCH_POSTGRES_URL (default the quorum_history database); its
public schema is dropped and re-created for each case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import statistics
import tempfile
import time
import zoneinfo
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

os.environ["PYTHONTZPATH"] = ""
zoneinfo.reset_tzpath(to=[])

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.commands import catalog  # noqa: E402,F401  (registers the commands)
from bot.commands.dispatcher import Dispatcher, make_actor  # noqa: E402
from bot.config import RoleConfig, Settings  # noqa: E402
from bot.contracts.actor import Actor  # noqa: E402
from bot.web.routes import build_web_app  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade_sync  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_history"
# Tuesday 12:00 UTC: the Wednesday 08:00 (Los Angeles) meeting's agenda is open until 24 h before it.
START = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
FIRST_MEETING = date(2022, 3, 2)
ROSTER = 8
WARM_UP = 3
CASES = ("/agenda add", "/rotation show", "/meeting next", "calendar page GET /")


async def reset_postgres(url: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                 user=parsed.username or "postgres", password=parsed.password,
                                 database=parsed.database, timeout=5)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


class World:
    def __init__(self, url: str) -> None:
        self.clock = ManualClock(START)
        self.settings = Settings(database_url=url, roles={"PMC": RoleConfig("PMC")}, chair_roles=("PMC",),
                                 default_display_zones=("UTC",))
        self.db = Database(url)
        self.services = build_services(self.db, self.clock, self.settings)
        self.dispatcher = Dispatcher(self.services)

    def actor(self, name: str, *roles: str) -> Actor:
        return make_actor(self.settings, workspace_id="bench", platform="console", member_id=f"console:{name}",
                          display_name=name, platform_roles=frozenset(roles))

    async def ok(self, who: str, text: str, *roles: str) -> dict[str, object]:
        reply = await self.dispatcher.run_text(text, self.actor(who, *roles))
        assert reply.ok, f"{text!r}: {reply.text}"
        return dict(reply.data or {})

    async def attempt(self, who: str, text: str, *roles: str) -> bool:
        """For the history's extras (skips, swaps): a refusal (e.g. the member is fixed already) is fine."""
        return (await self.dispatcher.run_text(text, self.actor(who, *roles))).ok


async def build(world: World, weeks: int) -> None:
    await world.ok("chair", '/meeting series create slug=bench name="Bench" weekday=wed time=08:00 '
                            f"tz=America/Los_Angeles start={FIRST_MEETING}", "PMC")
    for i in range(ROSTER):
        await world.ok(f"h{i}", "/rotation join host")
        await world.ok(f"n{i}", "/rotation join notes")
    for week in range(weeks):
        day = FIRST_MEETING + timedelta(weeks=week)
        await world.ok(f"n{week % ROSTER}", f'/agenda add "Topic {week}a" https://example.org/t/{week}/a')
        await world.ok(f"h{(week + 3) % ROSTER}", f'/agenda add "Topic {week}b" https://example.org/t/{week}/b')
        if week % 5 == 4:
            await world.attempt(f"h{week % ROSTER}", f"/rotation skip {day}")
        if week % 7 == 6:
            await world.ok("chair", f"/rotation assign {day} host @h{(week + 1) % ROSTER}", "PMC")
        if week % 11 == 10:
            shown = await world.ok("zoe", "/meeting next")
            meeting = shown["meeting"]
            assert isinstance(meeting, dict)
            note_taker = str(meeting["note_taker"]).split(":")[-1]
            other = f"n{(int(note_taker[1:]) + 1) % ROSTER}"
            if await world.attempt(note_taker, f"/rotation swap {day} @{other}"):
                swaps = (await world.ok("zoe", "/rotation show"))["rotation"]
                assert isinstance(swaps, dict)
                await world.attempt(other, f"/rotation accept #{swaps['swaps'][-1]['id']}")
        world.clock.advance(timedelta(days=1, hours=6))  # past the agenda deadline
        await world.services.rotation.fix_due()
        world.clock.advance(timedelta(days=5, hours=18))  # the next Tuesday 12:00 UTC


Case = Callable[[], Awaitable[None]]


async def open_world(url: str, weeks: int, stack: contextlib.AsyncExitStack) -> dict[str, Case]:
    """A database with ``weeks`` of history, and the timed cases run against it (closed with ``stack``)."""
    await asyncio.to_thread(upgrade_sync, url)
    world = World(url)
    stack.push_async_callback(world.db.dispose)
    started = time.perf_counter()
    await build(world, weeks)
    print(f"  built {weeks} week(s) of history in {time.perf_counter() - started:.1f} s")
    next_day = FIRST_MEETING + timedelta(weeks=weeks)
    client = await stack.enter_async_context(TestClient(TestServer(build_web_app(world.services))))
    added = itertools.count()

    async def add() -> None:
        i = next(added)
        day = next_day + timedelta(weeks=i // 40)  # spread so that no agenda reaches its 50-item limit
        await world.ok(f"n{i % ROSTER}", f'/agenda add "Bench {i}" https://example.org/bench/{i} date={day}')

    async def show() -> None:
        await world.ok("zoe", "/rotation show")

    async def next_meeting() -> None:
        await world.ok("zoe", "/meeting next")

    async def page() -> None:
        response = await client.get("/")
        assert response.status == 200, response.status
        await response.read()

    cases: dict[str, Case] = dict(zip(CASES, (add, show, next_meeting, page), strict=True))
    for run in cases.values():
        for _ in range(WARM_UP):  # first calls pay for compiling statements and warming caches
            await run()
    return cases


async def sample(run: Case, into: list[float]) -> None:
    started = time.perf_counter()
    await run()
    into.append((time.perf_counter() - started) * 1000)


async def alternated(tmp: str, long_weeks: int, repeat: int) -> dict[int, dict[str, list[float]]]:
    """SQLite: both databases open at once and their runs alternated, so that the load of this shared
    machine, which changes from one minute to the next, weighs on both cases alike."""
    samples: dict[int, dict[str, list[float]]] = {w: {c: [] for c in CASES} for w in (1, long_weeks)}
    async with contextlib.AsyncExitStack() as stack:
        worlds = {w: await open_world(f"sqlite+aiosqlite:///{tmp}/history-{w}.db", w, stack) for w in samples}
        for case in CASES:
            for i in range(repeat):
                for weeks in ((1, long_weeks) if i % 2 == 0 else (long_weeks, 1)):
                    await sample(worlds[weeks][case], samples[weeks][case])
    return samples


async def bracketed(url: str, long_weeks: int, repeat: int) -> dict[int, dict[str, list[float]]]:
    """PostgreSQL (one database: the cases cannot be open at once): 1 week, then 10 years, then 1 week
    again, each half of the 1-week runs on either side of the long case's, for the same reason."""
    samples: dict[int, dict[str, list[float]]] = {w: {c: [] for c in CASES} for w in (1, long_weeks)}
    for weeks, runs in ((1, repeat // 2), (long_weeks, repeat), (1, repeat - repeat // 2)):
        await reset_postgres(url)
        async with contextlib.AsyncExitStack() as stack:
            cases = await open_world(url, weeks, stack)
            for case in CASES:
                for _ in range(runs):
                    await sample(cases[case], samples[weeks][case])
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each case (the median is shown)")
    parser.add_argument("--years", type=int, default=10, help="the long history, in years of weekly meetings")
    args = parser.parse_args()
    long_weeks = 52 * args.years
    print(f"{args.db}: 1 week and {long_weeks} weeks of history")
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            samples = await alternated(tmp, long_weeks, args.repeat)
    else:
        url = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
        samples = await bracketed(url, long_weeks, args.repeat)
    print()
    print(f"History benchmark on {args.db}: median of {args.repeat} runs, 1 week vs {long_weeks} weekly meetings")
    print()
    print(f"| case | 1 week ms | {args.years} years ms | ratio | target ≤1.25 |")
    print("|---|---:|---:|---:|---|")
    for case in CASES:
        small, large = statistics.median(samples[1][case]), statistics.median(samples[long_weeks][case])
        ratio = large / small
        print(f"| {case} | {small:.1f} | {large:.1f} | {ratio:.2f} | {'met' if ratio <= 1.25 else 'NOT met'} |")


if __name__ == "__main__":
    asyncio.run(main())
