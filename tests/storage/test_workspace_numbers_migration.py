"""Migration 0015 keeps the numbers members already saw (the ids) for existing meetings, agenda items, votes
and swaps, sets each workspace's counters to its highest so new records go on from there, keeps every
series' calendar name, and lets a second workspace reuse a series slug: on SQLite (rows referencing the
rebuilt series table, foreign keys on) and on a scratch PostgreSQL database."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import make_url
from sqlmodel import SQLModel

from storage.db import Database
from storage.migrate import upgrade_sync
from tests.conftest import _connect, postgres_url

OLD_ROWS = [
    *(f"INSERT INTO workspace (id, platform, name, created_at) VALUES ('{ws}', 'console', '', '2022-03-01')"
      for ws in ("tvm", "other")),
    *("INSERT INTO series (id, workspace_id, slug, name, weekday, local_time, timezone, start_date, "
      "duration_minutes, deadline_minutes, display_zones, link_hosts, created_by, created_at, updated_at) "
      f"VALUES ({sid}, '{ws}', '{slug}', 'N', 2, '08:00', 'UTC', '2022-03-02', 60, 1440, '', '', 'console:a', "
      "'2022-03-01', '2022-03-01')" for sid, ws, slug in ((1, "tvm", "community"), (2, "other", "dev"))),
    # Meetings interleaved between the workspaces, so numbering by id within each workspace matters.
    *("INSERT INTO meeting (id, workspace_id, series_id, occurrence_key, starts_at, timezone, duration_minutes, "
      f"status, created_at, updated_at) VALUES ({mid}, '{ws}', {sid}, 'k{mid}', '2022-03-02', 'UTC', 60, "
      "'scheduled', '2022-03-01', '2022-03-01')" for mid, sid, ws in ((1, 1, "tvm"), (2, 2, "other"), (3, 1, "tvm"))),
    *("INSERT INTO agendaitem (id, meeting_id, position, title, link, link_key, author, author_name, added_at) "
      f"VALUES ({iid}, {mid}, {iid}, 'T', 'l{iid}', 'l{iid}', 'a', 'a', '2022-03-01')"
      for iid, mid in ((1, 2), (2, 1), (3, 3), (4, 2))),
    *("INSERT INTO vote (id, workspace_id, title, rule, binding_role, opened_by, opened_at, closes_at, "
      "short_forced, status, close_forced, head_digest, electorate_digest, electorate_size) VALUES "
      f"({vid}, '{ws}', 'T', 'consensus', 'PMC', 'a', '2022-03-01', '2022-03-04', FALSE, 'open', FALSE, 'h', 'e', 0)"
      for vid, ws in ((1, "other"), (2, "tvm"), (3, "other"))),
    "INSERT INTO rotationswap (id, series_id, meeting_id, duty, from_member, to_member, status, created_at) "
    "VALUES (7, 2, 2, 'host', 'a', 'b', 'proposed', '2022-03-01')",
]
CHECKS: list[tuple[str, list[tuple[Any, ...]]]] = [
    # "#3" in an old message or thread still means what it meant: existing records keep their numbers.
    ("SELECT id, workspace_id, number FROM meeting ORDER BY id", [(1, "tvm", 1), (2, "other", 2), (3, "tvm", 3)]),
    ("SELECT id, workspace_id, number FROM agendaitem ORDER BY id",
     [(1, "other", 1), (2, "tvm", 2), (3, "tvm", 3), (4, "other", 4)]),
    ("SELECT id, number FROM vote ORDER BY id", [(1, 1), (2, 2), (3, 3)]),
    ("SELECT id, workspace_id, number FROM rotationswap", [(7, "other", 7)]),
    # New records go on from each workspace's highest number.
    ("SELECT workspace_id, kind, last_number FROM workspace_counter ORDER BY workspace_id, kind",
     [("other", "agendaitem", 4), ("other", "meeting", 2), ("other", "rotationswap", 7), ("other", "vote", 3),
      ("tvm", "agendaitem", 3), ("tvm", "meeting", 3), ("tvm", "vote", 2)]),
    # Existing series keep their slug as their calendar name: feed URLs and event UIDs do not change.
    ("SELECT slug, feed_name FROM series ORDER BY id", [("community", "community"), ("dev", "dev")]),
]
# The slug is a name within one workspace now.
SAME_SLUG = ("INSERT INTO series (id, workspace_id, slug, feed_name, name, weekday, local_time, timezone, start_date, "
             "duration_minutes, deadline_minutes, display_zones, link_hosts, created_by, created_at, updated_at) "
             "VALUES (3, 'other', 'community', 'community-1', 'N', 2, '08:00', 'UTC', '2022-03-02', 60, 1440, '', '', "
             "'a', '2022-03-01', '2022-03-01')")


@pytest.fixture(params=["sqlite", "postgres"])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    base = postgres_url()
    url = make_url(base).set(database=f"{make_url(base).database}_m0011").render_as_string(hide_password=False)

    async def admin(statement: str) -> None:
        conn = await _connect(base)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    name = make_url(url).database
    try:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))
    except (OSError, Exception):
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


def _run(url: str, statements: list[str], query: str | None = None) -> list[tuple[Any, ...]]:
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database or "") as conn:
            for statement in statements:
                conn.execute(statement)
            return [tuple(r) for r in conn.execute(query).fetchall()] if query else []

    async def on_postgres() -> list[tuple[Any, ...]]:
        conn = await _connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
            return [tuple(r) for r in await conn.fetch(query)] if query else []
        finally:
            await conn.close()

    return asyncio.run(on_postgres())


def test_existing_records_keep_their_numbers_and_counters_go_on_from_there(scratch_url: str) -> None:
    upgrade_sync(scratch_url, "0014")
    _run(scratch_url, OLD_ROWS)
    upgrade_sync(scratch_url)
    for query, expected in CHECKS:
        assert _run(scratch_url, [], query) == expected, query
    assert _run(scratch_url, [SAME_SLUG], "SELECT COUNT(*) FROM series WHERE slug = 'community'") == [(2,)]


async def test_the_migrated_tables_are_exactly_the_models(db: Database) -> None:
    touched = {"workspace", "workspace_counter", "series", "meeting", "agendaitem", "vote", "rotationswap"}

    def differences(sync: Any) -> list[Any]:
        diffs = compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata)
        return [d for d in diffs if touched & _tables_of(d)]

    async with db.engine.connect() as conn:
        assert await conn.run_sync(differences) == []


def _tables_of(diff: Any) -> set[str]:
    found: set[str] = set()
    for part in diff if isinstance(diff, list) else [diff]:
        for item in part if isinstance(part, tuple) else [part]:
            table = getattr(item, "table", None)
            found.update(n for n in (getattr(item, "name", None), getattr(table, "name", None), item)
                         if isinstance(n, str))
    return found
