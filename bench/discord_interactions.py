"""How long a slash command takes through discord.py, the dispatcher and SQLite, answered to a local
fake Discord server: parse INTERACTION_CREATE -> command -> interaction callback recorded.

Run: PYTHONPATH=. PYTHONTZPATH= .venv/bin/python bench/discord_interactions.py [count]"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp.test_utils import TestServer

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401  (registers commands)
from bot.commands.dispatcher import Dispatcher
from bot.config import RoleConfig, Settings
from storage.db import Database
from storage.migrate import upgrade
from tests.adapters.discord.fake_discord import FakeDiscord, build_app
from tests.adapters.discord.harness import CHAIR_ROLE_ID, guild_create, slash, start_client

SERIES = dict(slug="community", name="TVM Community Meeting", weekday="wed", time="08:00", tz="America/Los_Angeles",
              zones="UTC,Europe/London,Asia/Shanghai", start="2022-03-02")


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(url)
        db = Database(url)
        settings = Settings(roles={"PMC": RoleConfig("PMC", discord_role=str(CHAIR_ROLE_ID))})
        services = build_services(db, ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC)), settings)
        fake = FakeDiscord()
        server = TestServer(build_app(fake), host="127.0.0.1")
        await server.start_server()
        fake.url = str(server.make_url("")).rstrip("/")
        client = await start_client(Dispatcher(services), fake)
        await guild_create(client)
        alice = (500000000000000001, "alice", (CHAIR_ROLE_ID,))
        await slash(client, alice, "meeting series create", **SERIES)
        no_options: dict[str, str] = {}
        for path, options in (("meeting next", no_options), ("agenda list", no_options), ("quorum help", no_options)):
            times = []
            for _ in range(count):
                start = time.perf_counter()
                await slash(client, alice, path, **options)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            answer = fake.calls_to("POST", r"/interactions/\d+/[^/]+/callback")[-1].body["data"]
            assert "flags" not in answer or answer.get("content") or answer.get("embeds"), answer
            print("  answer:", (answer.get("content") or answer["embeds"][0]["description"])[:60].replace("\n", " | "))
            print(f"/{path}: {count} interactions, median {statistics.median(times):.1f} ms, "
                  f"p95 {times[int(0.95 * len(times)) - 1]:.1f} ms, max {times[-1]:.1f} ms")
        await client.close()
        await server.close()
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
