"""Vote reminders and the automatic close through the outbox, with a large electorate.

One vote, an electorate of N (default 1,000) of whom a fifth voted. Measured, with a notifier that only
counts: the tick at the reminder time (plan N*4/5 DMs and send them), a steady-state tick inside the
reminder window (nothing new to do), and the tick at the deadline (close, result written and posted).
Run:
    PYTHONTZPATH= .venv/bin/python bench/vote_notices.py [--electorate 1000] [--postgres URL]
The PostgreSQL database given is migrated and written to: use a scratch one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401  (registers commands; imports in the order the app does)
from bot.commands.dispatcher import make_actor
from bot.config import RoleConfig, Settings
from bot.contracts.outbound import OutboundMessage
from bot.services.reminders import due_tick
from storage.db import Database
from storage.migrate import upgrade


class Counting:
    platform = "console"

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    async def send(self, message: OutboundMessage) -> str | None:
        self.kinds[message.kind] = self.kinds.get(message.kind, 0) + 1
        return None


async def one_run(url: str, size: int) -> None:
    electorate = tuple(f"console:m{i}" for i in range(size))
    settings = Settings(database_url=url, roles={"PMC": RoleConfig("PMC", members=electorate)})
    clock = ManualClock(datetime(2022, 3, 1, 12, 0, tzinfo=UTC))
    db = Database(url)
    services = build_services(db, clock, settings)
    counting = Counting()
    services.notifiers["console"] = counting

    def actor(i: int) -> object:
        return make_actor(settings, workspace_id="bench", platform="console", member_id=f"console:m{i}",
                          display_name=f"m{i}", platform_roles=frozenset({"PMC"}))

    view = await services.votes.open(actor(0), "Big vote")  # type: ignore[arg-type]
    for i in range(0, size, 5):
        await services.votes.cast(actor(i), view.id, "+1")  # type: ignore[arg-type]
    timings: list[tuple[str, float]] = []
    for label, at in (("reminder tick", view.closes_at - timedelta(hours=24)),
                      ("steady tick", view.closes_at - timedelta(hours=12)),
                      ("close tick", view.closes_at)):
        clock.set(at)
        started = time.perf_counter()
        await due_tick(services.reminders, services.outbox_dispatcher)
        timings.append((label, (time.perf_counter() - started) * 1000))
    await db.dispose()
    reminded = size - len(range(0, size, 5))
    assert counting.kinds == {"dm": reminded, "channel": 1}, counting.kinds
    print(f"{'postgres' if url.startswith('postgresql') else 'sqlite  '} electorate {size}, {reminded} reminded: "
          + ", ".join(f"{label} {ms:.0f} ms" for label, ms in timings))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--electorate", type=int, default=1000)
    parser.add_argument("--postgres", help="a scratch PostgreSQL database URL (migrated and written to)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quorum-bench-") as tmp:  # removed even on error
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        await upgrade(url)
        await one_run(url, args.electorate)
    if args.postgres:
        await upgrade(args.postgres)
        await one_run(args.postgres, args.electorate)


if __name__ == "__main__":
    asyncio.run(main())
