"""Start-up and subscription-page benchmark.

    PYTHONPATH=. .venv/bin/python bench/startup.py [--runs 5] [--communities 1000]

1. Start-up: ``quorum run`` as a subprocess on a fresh temporary SQLite database, no platform tokens, a
   free port; seconds from spawning the process until ``GET /health/live`` answers 200 (``/healthz`` on
   code that predates ``/health/live``), median of ``--runs``. The same for a trivial aiohttp app in a
   fresh interpreter (the floor: Python + aiohttp import + listen).
2. ``GET /`` (the subscription page) with 1, 20 (one page of the listing) and ``--communities``
   communities (console workspaces, each with one public weekly series), served in this process:
   "cold" is the first request after a series changed (every request, on code without a page cache),
   "warm" a repeated request. Also ``GET /calendar/<series>.ics`` (cold), which must not grow with the
   number of communities.

Prints one Markdown table: case | small | large/measured | target. Everything runs at a fixed instant
(a ManualClock) on series that start relative to it, so the figures do not depend on the day; the
temporary directory is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["PYTHONTZPATH"] = ""
sys.path.insert(0, str(ROOT))

NOW = datetime(2024, 6, 5, 12, tzinfo=UTC)  # a fixed instant: the figures never depend on the day
PAGE = 20  # series on one page of the listing (bot/services/calendar.py LISTING_PAGE_SIZE)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TRIVIAL_APP = """
import sys
from aiohttp import web
async def live(request):
    return web.json_response({"ok": True})
app = web.Application()
app.router.add_get("/health/live", live)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def time_until_live(argv: list[str], env: dict[str, str], port: int, cwd: Path,
                    ready_path: str | None = None) -> tuple[float, float, str]:
    """Seconds from spawn until /health/live (or, on older code, /healthz) answers 200, and until
    ``ready_path`` does (the app serves its pages)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    live: float | None = None
    endpoint = ""
    try:
        while time.perf_counter() - started < 120:
            if process.poll() is not None:
                raise SystemExit(f"{argv} exited: {process.stderr.read().decode() if process.stderr else ''}")
            if live is None:
                status = _answers(f"http://127.0.0.1:{port}/health/live")
                if status == 200:
                    live, endpoint = time.perf_counter() - started, "/health/live"
                elif status == 404 and _answers(f"http://127.0.0.1:{port}/healthz") == 200:
                    live, endpoint = time.perf_counter() - started, "/healthz"
            if live is not None:
                if ready_path is None:
                    return live, live, endpoint
                if _answers(f"http://127.0.0.1:{port}{ready_path}") == 200:
                    return live, time.perf_counter() - started, endpoint
            time.sleep(0.02)
        raise SystemExit(f"{argv} did not answer within 120 s")
    finally:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def bench_startup(runs: int, workdir: Path) -> tuple[float, float, float, str]:
    """Medians: quorum run until live, until it serves ``/``; the trivial app until live."""
    live_times, ready_times, trivial_times, endpoint = [], [], [], ""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "QUORUM_"))}
    env["PYTHONTZPATH"] = ""
    env["PYTHONPATH"] = str(ROOT)
    for n in range(runs):
        port = free_port()
        config = workdir / f"run{n}.toml"
        config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n\n[roles.PMC]\n', encoding="utf-8")
        run_env = {**env, "QUORUM_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / f'run{n}.db'}"}
        live, ready, endpoint = time_until_live(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "run"], run_env, port, workdir, "/")
        live_times.append(live)
        ready_times.append(ready)
        port = free_port()
        trivial_times.append(time_until_live([sys.executable, "-c", TRIVIAL_APP, str(port)], env, port, workdir)[0])
    for label, times in ((f"quorum run until {endpoint}", live_times), ("quorum run until GET /", ready_times),
                         ("trivial aiohttp app", trivial_times)):
        print(f"{label}: " + ", ".join(f"{t:.2f}" for t in times) + " s", file=sys.stderr)
    return statistics.median(live_times), statistics.median(ready_times), statistics.median(trivial_times), endpoint


async def bench_page(url: str, communities: int, repeats: int) -> dict[str, float]:
    """Median milliseconds of GET / cold and warm and of a cold feed, with ``communities`` workspaces."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import build_services
    from bot.clock import ManualClock
    from bot.commands import catalog  # noqa: F401  (registers every command)
    from bot.commands.dispatcher import Dispatcher, make_actor
    from bot.config import RoleConfig, Settings
    from bot.web.routes import build_web_app
    from storage.db import Database
    from storage.migrate import upgrade

    await upgrade(url)
    settings = Settings(database_url=url, roles={"PMC": RoleConfig("PMC", members=("console:alice",))})
    db = Database(url)
    clock = ManualClock(NOW)
    services = build_services(db, clock, settings)
    dispatcher = Dispatcher(services)  # commands create the workspace the series belongs to
    for n in range(communities):
        chair = make_actor(settings, workspace_id=f"ws{n}", platform="console", member_id="console:alice",
                           display_name="alice")
        reply = await dispatcher.run_text(
            f'/meeting series create slug=community-{n} name="Community {n}" weekday={WEEKDAYS[n % 7]} '
            f"time={8 + n % 10:02d}:00 tz=Europe/Berlin start=2024-01-03", chair)
        assert reply.ok, reply.text
    ids = [(await services.meetings.resolve_series(f"ws{n}", None)).id for n in (0, communities - 1)]
    # As `quorum run` does once started (bot/app.py settle_heap): the seeding's long-lived objects out of
    # the collector's sight, so a full collection's pause does not land on one size's figures only.
    gc.collect()
    gc.freeze()

    async def median_ms(request: Callable[[], Awaitable[None]], before: Callable[[], None] | None) -> float:
        samples = []
        for _ in range(repeats):
            if before is not None:
                before()
            started = time.perf_counter()
            await request()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    figures = {}
    try:
        async with TestClient(TestServer(build_web_app(services))) as client:
            async def index() -> None:
                response = await client.get("/")
                assert response.status == 200, response.status
                assert "Community 0" in await response.text()

            async def feed() -> None:
                response = await client.get("/calendar/community-0.ics")
                assert response.status == 200, response.status
                await response.read()

            def change() -> None:  # as any command that changes a series does
                for series_id in ids:
                    services.meetings.notify_changed(series_id)

            await index()
            figures["cold"] = await median_ms(index, change)
            figures["warm"] = await median_ms(index, None)
            figures["feed"] = await median_ms(feed, change)
    finally:
        await db.dispose()
        gc.unfreeze()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=11, help="requests per GET figure (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quorum-bench-startup-") as tmp:
        workdir = Path(tmp)
        live, ready, trivial, endpoint = bench_startup(args.runs, workdir)
        figures = {size: asyncio.run(bench_page(f"sqlite+aiosqlite:///{workdir / f'page{size}.db'}", size,
                                                args.repeats))
                   for size in (1, PAGE, args.communities)}
    large = figures[args.communities]
    big = f"{args.communities:,}"
    print()
    print("| case | small | large/measured | target |")
    print("|---|---|---|---|")
    print(f"| start-up: `quorum run` until `{endpoint}` answers 200 (median of {args.runs}) | trivial aiohttp app "
          f"{trivial:.2f} s | {live:.2f} s | ≤ 2 s |")
    print(f"| start-up: until `GET /` answers 200 (migrated, serving; median of {args.runs}) | | {ready:.2f} s | |")
    for key, small, label in (
            ("cold", 1, "`GET /` after a series changed"),
            ("cold", PAGE, "`GET /` after a series changed"),
            ("warm", 1, "`GET /` repeated"),
            ("feed", 1, "`GET /calendar/<series>.ics` after a change")):
        base = figures[small][key]
        print(f"| {label}: {small} vs {big} communities (median of {args.repeats}) | {base:.2f} ms | "
              f"{large[key]:.2f} ms ({large[key] / base:.2f}×) | ≤ 1.25× |")

if __name__ == "__main__":
    main()
