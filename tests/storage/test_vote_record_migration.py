"""Migration 0011 and votes logged in event format 1 (before issue 17): the opened digest is backfilled
from the stored first event, no event is re-hashed, and such a vote still verifies, still has every
field its old log records checked, and can still be voted on and closed."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_services
from bot.clock import ManualClock
from bot.config import RoleConfig, Settings
from bot.rules.audit import Event, canonical, electorate_digest, next_event
from storage.db import Database
from storage.migrate import upgrade_sync
from tests.helpers import Members

ELECTORATE = [["console:alice", "alice"], ["console:bob", "bob"]]


def format_1_log() -> list[Event]:
    """A vote's log as the code before issue 17 wrote it: seconds in the payload's instants, no format key."""
    opened = next_event(None, 1, "open", "2022-03-01T12:00:00.250000Z", {
        "title": "Adopt", "link": None, "rule": "lazy-consensus", "binding_role": "PMC", "opened_by": "console:alice",
        "opened_by_name": "alice", "opened_at": "2022-03-01T12:00:00Z", "closes_at": "2022-03-04T12:00:00Z",
        "short_forced": False, "electorate": ELECTORATE,
        "electorate_digest": electorate_digest(["console:alice", "console:bob"])})
    ballot = next_event(opened, 1, "ballot", "2022-03-01T13:00:00.500000Z", {
        "voter": "console:bob", "voter_name": "bob", "value": "+1", "comment": "fine", "binding": True,
        "previous": None})
    return [opened, ballot]


def old_database(path: Path) -> list[Event]:
    upgrade_sync(f"sqlite+aiosqlite:///{path}", "0010")
    events = format_1_log()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO workspace (id, platform, name, created_at) "
                     "VALUES ('tvm', 'console', '', '2022-03-01 12:00:00.000000')")
        conn.execute(
            "INSERT INTO vote (id, workspace_id, title, rule, binding_role, opened_by, opened_at, closes_at, "
            "short_forced, status, close_forced, head_digest, electorate_digest, electorate_size, "
            "tally_binding_plus) VALUES (1, 'tvm', 'Adopt', 'lazy-consensus', 'PMC', 'console:alice', "
            "'2022-03-01 12:00:00.250000', '2022-03-04 12:00:00.250000', 0, 'open', 0, ?, ?, 2, 1)",
            (events[-1].hash, electorate_digest(["console:alice", "console:bob"])))
        conn.executemany("INSERT INTO vote_electorate (vote_id, member_id, display_name) VALUES (1, ?, ?)",
                         [tuple(m) for m in ELECTORATE])
        conn.execute("INSERT INTO ballot (vote_id, voter, voter_name, value, comment, binding, cast_at, changes) "
                     "VALUES (1, 'console:bob', 'bob', '+1', 'fine', 1, '2022-03-01 13:00:00.500000', 0)")
        for event, created in zip(events, ("2022-03-01 12:00:00.250000", "2022-03-01 13:00:00.500000"), strict=True):
            conn.execute("INSERT INTO vote_event (vote_id, seq, kind, payload, created_at, prev_hash, hash) "
                         "VALUES (1, ?, ?, ?, ?, ?, ?)",
                         (event.seq, event.kind, canonical(dict(event.payload)).decode(), created, event.prev_hash,
                          event.hash))
    return events


async def test_a_format_1_vote_verifies_after_the_migration_and_keeps_its_chain(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    # Alembic runs its own event loop: in a thread of its own, as `quorum db upgrade` runs it.
    events = await asyncio.to_thread(old_database, path)
    await asyncio.to_thread(upgrade_sync, f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT opened_digest, head_digest, opened_by_name, closed_by_name FROM vote").fetchall() \
            == [(events[0].hash, events[1].hash, "alice", None)]
        assert [r[0] for r in conn.execute("SELECT hash FROM vote_event ORDER BY seq")] == [e.hash for e in events]
        assert conn.execute("SELECT DISTINCT source, seen_at FROM vote_electorate").fetchall() == [(None, None)]
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        settings = Settings(roles={"PMC": RoleConfig("PMC", members=("console:alice", "console:bob"))})
        clock = ManualClock(datetime(2022, 3, 2, 12, 0, tzinfo=UTC))
        services = build_services(db, clock, settings)
        assert (await services.vote_audit.verify()).problem is None
        # What format 1 logged is checked: the deadline, a ballot's comment and time.
        for statement, words in (
                ("UPDATE vote SET closes_at = '2022-04-03 12:00:00.250000'", "its closes_at is"),
                ("UPDATE ballot SET comment = 'edited'", "ballot of console:bob: comment is 'edited'"),
                ("UPDATE ballot SET cast_at = '2022-03-01 14:00:00.500000'", "ballot of console:bob: cast_at"),
                ("UPDATE vote_electorate SET source = 'config'", "electorate member console:alice's source")):
            with sqlite3.connect(path) as conn:
                saved = (conn.execute("SELECT closes_at FROM vote").fetchone(),
                         conn.execute("SELECT * FROM ballot").fetchall())
                conn.execute(statement)
            problem = (await services.vote_audit.verify()).problem
            assert problem is not None and words in problem.message, (statement, problem)
            with sqlite3.connect(path) as conn:
                conn.execute("UPDATE vote_electorate SET source = NULL")
                conn.execute("DELETE FROM ballot")
                conn.executemany(f"INSERT INTO ballot VALUES ({', '.join('?' * len(saved[1][0]))})", saved[1])
                conn.execute("UPDATE vote SET closes_at = ?", saved[0])
        assert (await services.vote_audit.verify()).problem is None
        # The old vote goes on: a ballot and the close are logged as format 1 logs them.
        members = Members(settings)
        await services.votes.cast(members.chair("alice"), 1, "+1")
        clock.set(datetime(2022, 3, 4, 12, 1, tzinfo=UTC))
        assert await services.votes.close_due() == [1]
        assert (await services.vote_audit.verify()).problem is None
        closed = next(e for e in await services.vote_audit.export() if e["id"] == 1)
        assert closed["outcome"] == "passed" and "reason" not in closed["events"][-1]["payload"]
        assert closed["events"][-1]["payload"]["closed_at"] == "2022-03-04T12:00:00Z"
    finally:
        await db.dispose()
