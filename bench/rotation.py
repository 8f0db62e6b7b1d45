"""How long the rotation replay makes /meeting next and /rotation show after years of meetings.

Builds a series on SQLite with 8 members on each roster, then advances a clock week by week for N
years: every week one agenda item is added and the assignment is fixed by the ticker job. Then times
the commands that replay the whole history. Run: .venv/bin/python bench/rotation.py [years]"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import zoneinfo
from datetime import UTC, datetime, timedelta

os.environ["PYTHONTZPATH"] = ""
zoneinfo.reset_tzpath(to=[])

from bot.app import build_services  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.commands import catalog  # noqa: E402,F401
from bot.commands.dispatcher import Dispatcher, make_actor  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade_sync  # noqa: E402


async def main(years: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await asyncio.to_thread(upgrade_sync, url)
        clock = ManualClock(datetime(2022, 3, 1, 12, 0, tzinfo=UTC))
        settings = Settings(database_url=url)
        db = Database(url)
        services = build_services(db, clock, settings)
        dispatcher = Dispatcher(services)

        def actor(name: str, *roles: str):  # type: ignore[no-untyped-def]
            return make_actor(settings, workspace_id="bench", platform="console", member_id=f"console:{name}",
                              display_name=name, platform_roles=frozenset(roles))

        async def ok(who: str, text: str, *roles: str) -> None:
            reply = await dispatcher.run_text(text, actor(who, *roles))
            assert reply.ok, reply.text

        await ok("chair", '/meeting series create slug=bench name="Bench" weekday=wed time=08:00 '
                          "tz=America/Los_Angeles start=2022-03-02", "PMC")
        for i in range(8):
            await ok(f"h{i}", "/rotation join host")
            await ok(f"n{i}", "/rotation join notes")
        weeks = 52 * years
        build = time.perf_counter()
        for week in range(weeks):
            await ok(f"n{week % 8}", f'/agenda add "Topic {week}" https://example.org/t/{week}')
            clock.advance(timedelta(days=1, hours=6))  # past the deadline
            await services.rotation.fix_due()
            clock.advance(timedelta(days=5, hours=18))
        build = time.perf_counter() - build
        for command in ("/meeting next", "/rotation show", "/meeting list count=10"):
            samples = []
            for _ in range(20):
                start = time.perf_counter()
                await ok("zoe", command)
                samples.append((time.perf_counter() - start) * 1000)
            print(f"{command:24s} after {weeks} meetings: median {statistics.median(samples):6.1f} ms, "
                  f"max {max(samples):6.1f} ms (20 runs, SQLite)")
        print(f"building the history (add item + fix_due per week): {build / weeks * 1000:.1f} ms per week")
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
