"""Benchmark: one scheduler tick with nothing due, as communities and the outbox grow.

    PYTHONPATH=. PYTHONTZPATH= .venv/bin/python bench/tick.py [--db sqlite|postgres] [--large 1000]
        [--outbox-rows 400000] [--repeat 15]

Each community is a Discord workspace with one weekly series (Mondays 17:00 UTC, started a week
before) whose last meeting went through its deadline step (the warm-up tick). The measured tick is
``due_tick`` (planning, the due planners, the dispatcher) when nothing is due; the figure is the
median of ``--repeat`` ticks, a minute apart. Cases: 1 vs ``--large`` communities, empty outbox;
100 communities with an empty outbox vs one holding ``--outbox-rows`` sent rows of older meetings;
100 communities without votes vs ``--votes`` open votes (half reminded and closing within a day).
``--only`` runs one of the cases.

PostgreSQL: $QUORUM_BENCH_POSTGRES_URL, else postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_tick
(its tables are emptied before each case and at the end). SQLite runs in a temporary folder that is
removed. The clock is a fixed ManualClock, so the figures do not depend on the day the bench runs.
Target: each ratio large/small within 1.25x."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PYTHONTZPATH", "")

from sqlalchemy import bindparam, text
from sqlmodel import SQLModel

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands import catalog  # noqa: F401  (import order: commands before services)
from bot.config import Settings
from bot.contracts.outbound import OutboundMessage
from bot.services.reminders import due_tick
from storage.db import Database
from storage.migrate import upgrade_sync
from storage.types import UTCDateTime

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_tick"
# Tuesday: the series' Monday meeting was yesterday (its deadline step is due at the warm-up tick),
# the next reminder (the channel's, before Sunday's agenda deadline) is days away.
T0 = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
START = T0.date() - timedelta(days=8)  # Monday 2026-02-23: a week of history


class Recording:
    platform = "discord"

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, message: OutboundMessage) -> str | None:
        self.sent += 1
        return None


async def _empty(db: Database) -> None:
    names = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with db.write() as session:
        if db.sqlite:
            for name in names:
                await session.execute(text(f'DELETE FROM "{name}"'))
        else:
            await session.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))


async def _seed_votes(db: Database, communities: int, votes: int) -> None:
    """Open votes of 10 voters each: the even ones close within their reminder lead (24 h), and their
    reminders were written and sent; the odd ones close in 5 days."""
    opened = bindparam("opened", type_=UTCDateTime())
    closes = bindparam("closes", type_=UTCDateTime())
    async with db.write() as session:
        await session.execute(
            text("INSERT INTO vote (workspace_id, number, title, link, rule, binding_role, opened_by, opened_at, "
                 "closes_at, short_forced, channel_id, status, close_forced, head_digest, electorate_digest, "
                 "electorate_size) VALUES (:ws, :number, 'Release', NULL, 'majority', 'PMC', 'bench', :opened, "
                 ":closes, false, :channel, 'open', false, '', '', 10)").bindparams(opened, closes),
            [{"ws": f"discord:{n % communities}", "number": n + 1, "channel": f"chan{n % communities}",
              "opened": T0 - timedelta(days=3),
              "closes": T0 + (timedelta(hours=12) if n % 2 == 0 else timedelta(days=5)) + timedelta(seconds=n)}
             for n in range(votes)])
        ids = [row[0] for row in (await session.execute(text("SELECT id FROM vote ORDER BY id"))).all()]
        await session.execute(
            text("INSERT INTO vote_electorate (vote_id, member_id, display_name) VALUES (:vote, :member, :member)"),
            [{"vote": vote_id, "member": f"discord:{m}"} for vote_id in ids for m in range(10)])
        stamp = bindparam("t", type_=UTCDateTime())
        await session.execute(
            text("INSERT INTO outbox (key, workspace_id, kind, target, payload, fallback_channel, due_at, expires_at, "
                 "status, attempts, claimed_by, lease_until, next_attempt_at, sent_at, last_error, platform_ref, "
                 "created_at) VALUES (:key, 'discord:0', 'dm', :member, '{}', NULL, :t, NULL, 'sent', 1, NULL, NULL, "
                 ":t, :t, NULL, NULL, :t)").bindparams(stamp),
            [{"key": f"vote:{vote_id}:remind:discord:{m}", "member": f"discord:{m}", "t": T0 - timedelta(hours=1)}
             for n, vote_id in enumerate(ids) if n % 2 == 0 for m in range(10)])


async def _seed(db: Database, communities: int, outbox_rows: int, votes: int = 0) -> None:
    """Bulk inserts (setup, not measured)."""
    stamp = bindparam("t", type_=UTCDateTime())
    async with db.write() as session:
        await session.execute(
            text("INSERT INTO workspace (id, platform, name, created_at) VALUES (:id, 'discord', :id, :t)")
            .bindparams(stamp), [{"id": f"discord:{n}", "t": T0 - timedelta(days=30)} for n in range(communities)])
        await session.execute(
            text("INSERT INTO series (workspace_id, slug, feed_name, name, weekday, local_time, timezone, start_date, "
                 "duration_minutes, deadline_minutes, display_zones, link_hosts, channel, feed_token, created_by, "
                 "created_at, updated_at) VALUES (:ws, :slug, :slug, 'Weekly', 0, '17:00', 'UTC', :start, 60, 1440, "
                 "'UTC', '', :channel, NULL, 'bench', :t, :t)").bindparams(stamp),
            [{"ws": f"discord:{n}", "slug": f"c{n}", "start": START, "channel": f"chan{n}",
              "t": T0 - timedelta(days=30)} for n in range(communities)])
        if outbox_rows:
            first = (await session.execute(text("SELECT min(id) FROM series"))).scalar_one()
            # Sent DMs of meetings older than the planners look at, spread over the series.
            await session.execute(
                text("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
                     "INSERT INTO outbox (key, workspace_id, kind, target, payload, fallback_channel, due_at, "
                     "expires_at, status, attempts, claimed_by, lease_until, next_attempt_at, sent_at, last_error, "
                     "platform_ref, created_at) "
                     "SELECT 'mtg:' || (i % :count + :first) || :middle || i || :tail, "
                     "'discord:' || (i % :count), 'dm', 'm' || i, '{\"text\": \"Reminder\"}', NULL, :t, :t, 'sent', 1, "
                     "NULL, NULL, :t, :t, NULL, NULL, :t FROM n").bindparams(stamp),
                {"last": outbox_rows - 1, "middle": ":2026-01-05:dm:m", "tail": ":3600", "count": communities,
                 "first": first, "t": T0 - timedelta(days=57)})
    if votes:
        await _seed_votes(db, communities, votes)
    async with db.engine.connect() as connection:  # what autovacuum / a long-running database has
        if db.sqlite:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
        else:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))


async def measure(url: str, communities: int, outbox_rows: int, repeat: int, votes: int = 0) -> float:
    """Median seconds of one tick with nothing due."""
    db = Database(url)
    try:
        await _empty(db)
        await _seed(db, communities, outbox_rows, votes)
        clock = ManualClock(T0)
        services = build_services(db, clock, Settings(database_url=url))
        services.notifiers["discord"] = Recording()
        await due_tick(services.reminders, services.outbox_dispatcher)  # warm-up: yesterday's deadline steps
        clock.advance(timedelta(minutes=1))  # and the planning those changes to the meetings call for
        await due_tick(services.reminders, services.outbox_dispatcher)
        times: list[float] = []
        for _ in range(repeat):
            clock.advance(timedelta(minutes=1))
            started = time.perf_counter()
            await due_tick(services.reminders, services.outbox_dispatcher)
            times.append(time.perf_counter() - started)
        await _empty(db)
        return statistics.median(times)
    finally:
        await db.dispose()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


async def run(url: str, large: int, outbox_rows: int, repeat: int, votes: int, only: str | None) -> None:
    rows: list[tuple[str, float, float]] = []
    await measure(url, 1, 0, 3)  # discarded: the first case of a process would also pay for warming up
    hundred = await measure(url, 100, 0, repeat)
    if only in (None, "communities"):
        one = await measure(url, 1, 0, repeat)
        many = await measure(url, large, 0, repeat)
        rows.append((f"tick, nothing due: 1 vs {large:,} communities", one, many))
    if only in (None, "outbox"):
        full = await measure(url, 100, outbox_rows, repeat)
        rows.append((f"tick, 100 communities: empty vs {outbox_rows:,}-row outbox", hundred, full))
    if only in (None, "votes"):
        voting = await measure(url, 100, 0, repeat, votes)
        rows.append((f"tick, 100 communities: 0 vs {votes:,} open votes (half reminded, closing within 24 h)",
                     hundred, voting))
    name = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    print(f"\n{name} (100 communities, empty outbox: {_ms(hundred)})\n")
    print("| case | small | large | ratio | target |")
    print("|---|---|---|---|---|")
    for name, small, big in rows:
        ratio = big / small if small else float("nan")
        print(f"| {name} | {_ms(small)} | {_ms(big)} | {ratio:.2f}x | <= 1.25x {'ok' if ratio <= 1.25 else 'MISSED'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--large", type=int, default=1000, help="communities in the large case")
    parser.add_argument("--outbox-rows", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--votes", type=int, default=1000)
    parser.add_argument("--only", choices=("communities", "outbox", "votes"), help="one case only")
    args = parser.parse_args()
    logging.getLogger("quorum").setLevel(logging.ERROR)  # the warm-up's "missed" warnings, one per series
    if args.db == "postgres":
        url = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_PG
        upgrade_sync(url)
        asyncio.run(run(url, args.large, args.outbox_rows, args.repeat, args.votes, args.only))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        upgrade_sync(url)
        asyncio.run(run(url, args.large, args.outbox_rows, args.repeat, args.votes, args.only))


if __name__ == "__main__":
    main()
