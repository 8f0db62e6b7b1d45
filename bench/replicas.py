"""Scale-out benchmark: 1 and 3 ``quorum run`` replicas on one PostgreSQL, talking to a fake Slack.

    PYTHONPATH=. .venv/bin/python bench/replicas.py [--messages 2000] [--commands 300] [--replicas 1,3]

For each number of replicas, on a fresh schema of QUORUM_BENCH_POSTGRES_URL (dropped and re-created):
1. Reminder lag: once every replica is ready, ``--messages`` DMs (to 50 members of one Slack workspace)
   become due at one instant, as a big community's reminders and announcements do; the lag of each is the
   time from its due instant to its arrival at Slack (``chat.postMessage``). p50 and p99, and the time
   until the last arrived. The replicas tick every second (``[scheduler] tick_seconds = 1``): a message
   another process wrote is noticed at the next tick.
2. Command throughput: ``--commands`` signed ``/meeting next`` slash commands sent to the replicas in
   turn, 20 at a time, over HTTP (Slack's HTTP mode); commands answered per second (on the response URL)
   and the p50 / p99 latency from the request to the answer.

Prints one Markdown table: figure | 1 replica | 3 replicas | target. The machine's cores are shared by the
replicas, PostgreSQL and the fake Slack: on 2 cores three replicas add no CPU, only parallel waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
os.environ["PYTHONTZPATH"] = ""
sys.path.insert(0, str(ROOT))

from bench.postgres import ensure_database  # noqa: E402
from bot.clock import SystemClock  # noqa: E402
from bot.contracts.reply import Reply  # noqa: E402
from bot.services.outbox import Outbox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.queries import outbox as outbox_q  # noqa: E402
from tests.adapters.slack.fake_slack import FakeSlack, sign, slash_command_body  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_bench"
TEAM = "T0BENCH"
BOT_TOKEN = "xoxb-bench-bot-token"
SIGNING_SECRET = "bench-signing-secret-0123456789"
MEMBERS = 50
COMMANDS_AT_ONCE = 20
TARGETS = {
    "reminder lag p50": "< 5 s",
    "reminder lag p99": "< 30 s",
    "last reminder after its due instant": "< 60 s",
    "commands answered per second": "> 20",
    "command latency p50": "< 0.5 s",
    "command latency p99": "< 2 s",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def reset(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    await ensure_database(url)
    conn = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                 user=parsed.username or "postgres", password=parsed.password, database=parsed.database)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()
    await upgrade(url)


async def until_ready(ports: list[int]) -> None:
    async with asyncio.timeout(120), aiohttp.ClientSession() as session:
        for port in ports:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/health/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)


async def enqueue_due(url: str, count: int, due: datetime) -> None:
    db = Database(url)
    outbox = Outbox(SystemClock())
    try:
        async with db.write() as session:
            for n in range(count):
                await outbox.enqueue(session, key=f"bench:{n}", workspace_id=f"slack:{TEAM}", kind="dm",
                                     target=f"slack:{TEAM}:U{n % MEMBERS:04d}", reply=Reply(f"reminder {n}"),
                                     due_at=due)
    finally:
        await db.dispose()


async def pending(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return (await outbox_q.count_by_status(session))["pending"]
    finally:
        await db.dispose()


async def measure(url: str, replicas: int, messages: int, commands: int) -> dict[str, float]:
    await reset(url)
    fake = FakeSlack(TEAM)
    await fake.start()
    for n in range(MEMBERS):
        fake.add_user(f"U{n:04d}", f"Member {n}")
    ports = [free_port() for _ in range(replicas)]
    processes = []
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "QUORUM_"))}
        env.update({"QUORUM_DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake.url("/api/"), "PYTHONTZPATH": "", "QUORUM_LOG_FORMAT": "text"})
        for port in ports:
            config = Path(folder) / f"{port}.toml"
            config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n\n[scheduler]\ntick_seconds = 1\n\n'
                              '[logging]\nlevel = "WARNING"\n', encoding="utf-8")
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "--config", str(config), "run", env=env, cwd=folder,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        try:
            await until_ready(ports)
            figures = await _reminders(url, fake, messages)
            figures.update(await _commands(fake, ports, commands))
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
            await fake.close()
    return figures


async def _reminders(url: str, fake: FakeSlack, messages: int) -> dict[str, float]:
    due = datetime.now(UTC)
    await enqueue_due(url, messages, due)
    async with asyncio.timeout(600):
        while await pending(url):  # noqa: ASYNC110  (other processes' work: polled in the database)
            await asyncio.sleep(0.2)
    arrivals: dict[str, float] = {}
    for call in fake.of("chat.postMessage"):
        arrivals.setdefault(str(call.params.get("text")), call.received_at)
    lags = [arrival - due.timestamp() for arrival in arrivals.values()]
    assert len(lags) == messages, f"{messages - len(lags)} reminder(s) never arrived"
    return {"reminder lag p50": statistics.median(lags), "reminder lag p99": percentile(lags, 0.99),
            "last reminder after its due instant": max(lags)}


async def _commands(fake: FakeSlack, ports: list[int], commands: int) -> dict[str, float]:
    latencies: list[float] = []
    limit = asyncio.Semaphore(COMMANDS_AT_ONCE)

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        async with limit:
            body = slash_command_body("/meeting", "next", team=TEAM, user=f"U{n % MEMBERS:04d}",
                                      user_name=f"member{n}", response_url=fake.url(f"/respond/{n}"),
                                      trigger_id=f"bench.{n}.{time.time_ns()}")
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       **sign(body, int(time.time()), SIGNING_SECRET)}
            started = time.time()
            async with session.post(f"http://127.0.0.1:{ports[n % len(ports)]}/slack/events", data=body.encode(),
                                    headers=headers) as response:
                assert response.status == 200, await response.text()
            await fake.wait_for(lambda: any(call.method == str(n) for call in fake.responses))
            answer = next(call for call in fake.responses if call.method == str(n))
            latencies.append(answer.received_at - started)

    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, n) for n in range(commands)))
    elapsed = time.monotonic() - started
    return {"commands answered per second": commands / elapsed, "command latency p50": statistics.median(latencies),
            "command latency p99": percentile(latencies, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--replicas", default="1,3")
    parser.add_argument("--db", default="postgres", help="only postgres: replicas need a shared PostgreSQL")
    args = parser.parse_args()
    if args.db != "postgres":
        parser.error("replicas share a PostgreSQL database: --db postgres")
    url = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    counts = [int(n) for n in args.replicas.split(",")]
    results = {n: asyncio.run(measure(url, n, args.messages, args.commands)) for n in counts}
    print(f"{args.messages} reminders due at once, {args.commands} slash commands; {os.cpu_count()} cores\n")
    print("| figure | " + " | ".join(f"{n} replica{'s' if n > 1 else ''}" for n in counts) + " | target |")
    print("|---|" + "---|" * len(counts) + "---|")
    for figure, target in TARGETS.items():
        cells = []
        for n in counts:
            value = results[n][figure]
            cells.append(f"{value:.0f}" if "per second" in figure else f"{value:.2f} s")
        print(f"| {figure} | " + " | ".join(cells) + f" | {target} |")


if __name__ == "__main__":
    main()
