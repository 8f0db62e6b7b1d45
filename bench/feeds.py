"""Calendar feed benchmark: requests/s for a cached 200 and a 304 of /calendar/<series>.ics, against a
trivial aiohttp handler returning the same number of bytes, all served by one server process and measured
in the same run by one load process; and the cold render of a 2-year feed (104 meetings with agendas).
Both processes use a ManualClock on a fixed date, so the run does not depend on the day (the agenda is
open); the database lives in a temporary directory removed at the end, even on error.

    .venv/bin/python bench/feeds.py [--seconds 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

os.environ["PYTHONTZPATH"] = ""
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import RoleConfig, Settings, WebConfig
from bot.rules.meetings import Occurrence
from bot.rules.vtimezone import vtimezone_lines
from bot.services import Services
from bot.services.views import AgendaEntry, MeetingView, SeriesInfo
from bot.web.routes import build_web_app
from storage.db import Database
from storage.migrate import upgrade_sync

ZONES = "UTC,Europe/London,Europe/Berlin,Asia/Kolkata,Asia/Shanghai"
# Tuesday 2022-03-01 12:00 UTC: four hours before the agenda deadline of Wednesday's meeting.
NOW = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
NEXT_MEETING = date(2022, 3, 2)


def settings_for(url: str, port: int) -> Settings:
    return Settings(database_url=url, roles={"PMC": RoleConfig("PMC", members=("console:alice",))},
                    web=WebConfig("127.0.0.1", port, f"http://127.0.0.1:{port}"))


async def seed(services: Services, settings: Settings) -> None:
    dispatcher = Dispatcher(services)
    chair = make_actor(settings, workspace_id="bench", platform="console", member_id="console:alice",
                       display_name="alice")
    reply = await dispatcher.run_text(
        f'/meeting series create slug=community name="Community meeting" weekday=wed time=08:00 '
        f"tz=America/Los_Angeles zones={ZONES} start={NEXT_MEETING - timedelta(weeks=8)}", chair)
    assert reply.ok, reply.text
    for n in range(3):
        link = f"https://github.com/org/repo/issues/{n}"
        reply = await dispatcher.run_text(f'/agenda add "Item {n}" {link} date={NEXT_MEETING}', chair)
        assert reply.ok, reply.text


async def serve(url: str, port: int, trivial_port: int) -> None:
    settings = settings_for(url, port)
    db = Database(url)
    services = build_services(db, ManualClock(NOW), settings)
    size = len((await services.calendar.feed("community")).body)
    body = b"x" * size

    async def trivial(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/plain")

    plain = web.Application()
    plain.router.add_get("/trivial", trivial)
    runners = [web.AppRunner(build_web_app(services), access_log=None), web.AppRunner(plain, access_log=None)]
    for runner, p in zip(runners, (port, trivial_port), strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", p).start()
    print("ready", size, flush=True)
    await asyncio.Event().wait()


async def load(url: str, seconds: float, concurrency: int, headers: dict[str, str], status: int) -> float:
    done = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    assert response.status == status, response.status
                done += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cold_render(runs: int = 30) -> list[float]:
    """Render a feed of 104 weekly meetings with 4 agenda items each from views, VTIMEZONE cache cleared."""
    settings = settings_for("sqlite+aiosqlite:///unused.db", 8080)
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:  # render reads no database: none is created
        services = build_services(Database(f"sqlite+aiosqlite:///{Path(tmp) / 'unused.db'}"), ManualClock(NOW),
                                  settings)
    series = SeriesInfo(1, "bench", "community", "Community meeting", 2, dtime(8), "America/Los_Angeles",
                        date(2022, 1, 5), timedelta(hours=1), timedelta(hours=24), tuple(ZONES.split(",")), (),
                        None, None, datetime(2022, 1, 1, tzinfo=UTC), feed_name="community")
    views = []
    for week in range(104):
        instant = series.rule.instant_on(date(2022, 1, 5) + timedelta(weeks=week))
        agenda = tuple(AgendaEntry(week * 4 + i, i + 1, f"Agenda item {i} of week {week}: a longer title, with commas",
                                   f"https://github.com/org/repo/issues/{week * 4 + i}", "console:bob", "Bob",
                                   instant - timedelta(days=3)) for i in range(4))
        occurrence = Occurrence(f"{instant.date()}", instant, series.timezone, series.duration,
                                host="console:carol", note_taker="console:dan")
        views.append(MeetingView(series, occurrence, agenda, (("console:carol", "Carol"), ("console:dan", "Dan"))))
    timings = []
    for _ in range(runs):
        vtimezone_lines.cache_clear()
        start = time.perf_counter()
        body = services.calendar.render(series, views, "Europe/Berlin")
        timings.append((time.perf_counter() - start) * 1000)
    assert body.count(b"BEGIN:VEVENT") == 104
    return timings


async def main(url: str, seconds: float, concurrency: int) -> None:
    port, trivial_port = free_port(), free_port()
    db = Database(url)
    await seed(build_services(db, ManualClock(NOW), settings_for(url, port)), settings_for(url, port))
    await db.dispose()
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port), str(trivial_port)],  # noqa: ASYNC220
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().split()
        size = int(ready[1])
        feed = f"http://127.0.0.1:{port}/calendar/community.ics"
        async with aiohttp.ClientSession() as session, session.get(feed) as first:
            etag = first.headers["ETag"]
        trivial = f"http://127.0.0.1:{trivial_port}/trivial"
        await load(feed, 1, concurrency, {}, 200)  # warm-up
        await load(trivial, 1, concurrency, {}, 200)
        results = {
            "trivial handler, same bytes": await load(trivial, seconds, concurrency, {}, 200),
            "feed, cached 200": await load(feed, seconds, concurrency, {}, 200),
            "feed, 304 (If-None-Match)": await load(feed, seconds, concurrency, {"If-None-Match": etag}, 304),
        }
    finally:
        server.terminate()
        server.wait()
    base = results["trivial handler, same bytes"]
    print(f"feed size {size} bytes; {concurrency} concurrent clients, {seconds:g} s each, server in one process")
    for name, rate in results.items():
        print(f"  {name:32s} {rate:8.0f} req/s  ({rate / base:.2f}x trivial)")
    timings = cold_render()
    print(f"cold render, 104 meetings x 4 agenda items, Europe/Berlin: median {statistics.median(timings):.1f} ms, "
          f"min {min(timings):.1f} ms, max {max(timings):.1f} ms over {len(timings)} runs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", nargs=3)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1]), int(args.serve[2])))
    else:
        with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            upgrade_sync(url)
            asyncio.run(main(url, args.seconds, args.concurrency))
