"""A database made by the first release, with data added at every release since, upgrades to the newest
schema on both engines and keeps every record: no row lost, no stored value changed.

The rows are generated from each revision's own reflected schema (every column, every table, foreign keys
pointing at real rows), so a new migration or a new table is covered without editing this test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Boolean, Connection, Date, DateTime, Float, Integer, MetaData, Numeric, String, Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.migrate import alembic_config, upgrade_sync
from tests.conftest import _connect, postgres_url

ROWS_PER_TABLE = 3
# Values that later migrations or the code read with a meaning (a zone, a time of day, a vote's value), so
# generated rows look like ones the product writes, rather than strings no migration could interpret.
MEANINGFUL: dict[str, list[Any]] = {
    "timezone": ["America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata"],
    "local_time": ["09:00", "17:30", "23:15"],
    "weekday": [2, 0, 6],
    "value": ["+1", "-0", "-1"],
    "rule": ["consensus", "majority", "lazy"],
    "platform": ["console", "discord", "slack"],
    "display_zones": ['["UTC"]', '["Europe/Berlin"]', "[]"],
    "link_hosts": ["[]", '["github.com"]', "[]"],
    "payload": ["{}", "{}", "{}"],
    "state": ["{}", "{}", "{}"],
}
# Columns a migration is meant to rewrite, by table: none so far. A migration that rewrites stored values on
# purpose names them here, so the change is a decision, not an accident.
REWRITTEN: dict[str, set[str]] = {}

Snapshot = dict[str, list[dict[str, Any]]]


def revisions(url: str) -> list[str]:
    """Every revision from the first to the head, in order (the chain is linear)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _value(table: Table, column: Any, index: int) -> Any:
    if column.name in MEANINGFUL:
        return MEANINGFUL[column.name][index % len(MEANINGFUL[column.name])]
    kind = column.type
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, Integer):
        return index + 1
    if isinstance(kind, Float | Numeric):
        return index + 0.5
    if isinstance(kind, DateTime):
        return datetime(2022, 3, 1, 16, 30) + timedelta(days=7 * index, seconds=index)
    if isinstance(kind, Date):
        return date(2022, 3, 2) + timedelta(days=7 * index)
    text = f"{table.name}.{column.name}#{index + 1}"
    length = getattr(kind, "length", None) if isinstance(kind, String) else None
    return text[-length:] if length else text


def _fill(connection: Connection, known: set[str]) -> set[str]:
    """Insert rows into every table not filled yet; return the names of all tables now present."""
    metadata = MetaData()
    metadata.reflect(connection)
    inserted: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if table.name in known or table.name == "alembic_version":
            continue
        rows = []
        for index in range(ROWS_PER_TABLE):
            row = {column.name: _value(table, column, index) for column in table.columns}
            for constraint in table.foreign_key_constraints:
                parents = inserted.get(constraint.referred_table.name) or [
                    dict(r._mapping) for r in connection.execute(constraint.referred_table.select())]
                parent = parents[index % len(parents)]
                for element in constraint.elements:
                    row[element.parent.name] = parent[element.column.name]
            rows.append(row)
        connection.execute(table.insert(), rows)
        inserted[table.name] = rows
    return {name for name in metadata.tables if name != "alembic_version"}


def _snapshot(connection: Connection) -> Snapshot:
    metadata = MetaData()
    metadata.reflect(connection)
    snapshot: Snapshot = {}
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        key = [column.name for column in table.primary_key.columns] or [column.name for column in table.columns]
        rows = [dict(row._mapping) for row in connection.execute(table.select())]
        snapshot[table.name] = sorted(rows, key=lambda row: tuple(str(row[name]) for name in key))
    return snapshot


def _columns(connection: Connection) -> dict[str, set[str]]:
    inspector = sa_inspect(connection)
    return {name: {column["name"] for column in inspector.get_columns(name)} for name in inspector.get_table_names()}


async def _run(url: str, work: Any) -> Any:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


def _assert_kept(before: Snapshot, after: Snapshot, columns: dict[str, set[str]], step: str) -> None:
    for table, rows in before.items():
        assert table in after, f"{step}: table {table} is gone"
        assert len(after[table]) == len(rows), f"{step}: {table} had {len(rows)} rows, now {len(after[table])}"
        kept = columns[table] - REWRITTEN.get(table, set())
        for old, new in zip(rows, after[table], strict=True):
            for name in kept & old.keys():
                assert new[name] == old[name], f"{step}: {table}.{name} changed from {old[name]!r} to {new[name]!r}"


def _upgrade_keeping_records(url: str, *, data_at_every_release: bool) -> None:
    """Fill the first release's tables (and, with ``data_at_every_release``, each later release's new tables
    too, upgrading one release at a time), then check every row survives each upgrade unchanged."""
    chain = revisions(url)
    assert len(chain) > 1, "the test needs at least two releases to upgrade across"
    steps = chain if data_at_every_release else [chain[0], chain[-1]]
    known: set[str] = set()
    before: Snapshot = {}
    for revision in steps:
        upgrade_sync(url, revision)
        after: Snapshot = asyncio.run(_run(url, _snapshot))
        _assert_kept(before, after, asyncio.run(_run(url, _columns)), f"upgrading to {revision}")
        if revision == chain[0] or data_at_every_release:
            known = asyncio.run(_run(url, lambda connection, seen=frozenset(known): _fill(connection, set(seen))))
        before = asyncio.run(_run(url, _snapshot))
    # Every table was given rows (a migration may add some of its own, e.g. the per-workspace counters).
    assert before.keys() >= known and all(len(before[name]) >= ROWS_PER_TABLE for name in known)
    if data_at_every_release:
        assert all(len(rows) >= ROWS_PER_TABLE for rows in before.values()), "every table was given rows"


@pytest.mark.parametrize("data_at_every_release", [False, True], ids=["first-release-to-head", "release-by-release"])
def test_a_first_release_sqlite_database_upgrades_to_head_keeping_every_record(
        tmp_path: Path, data_at_every_release: bool) -> None:
    _upgrade_keeping_records(f"sqlite+aiosqlite:///{tmp_path / 'first-release.db'}",
                             data_at_every_release=data_at_every_release)


@pytest.fixture
def scratch_postgres_url() -> Iterator[str]:
    """A database of its own beside the shared test database, so walking the releases leaves that alone."""
    base = make_url(postgres_url())
    name = f"{base.database}_releases"
    try:
        asyncio.run(_admin(base.render_as_string(hide_password=False), f'DROP DATABASE IF EXISTS "{name}"',
                           f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.fail(f"PostgreSQL at {base.render_as_string(hide_password=True)} is unreachable: {exc}")
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(base.render_as_string(hide_password=False), f'DROP DATABASE IF EXISTS "{name}"'))


async def _admin(url: str, *statements: str) -> None:
    connection = await _connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.mark.parametrize("data_at_every_release", [False, True], ids=["first-release-to-head", "release-by-release"])
def test_a_first_release_postgres_database_upgrades_to_head_keeping_every_record(
        scratch_postgres_url: str, data_at_every_release: bool) -> None:
    _upgrade_keeping_records(scratch_postgres_url, data_at_every_release=data_at_every_release)
