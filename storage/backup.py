"""Every row of every table, as JSON-ready data, and back: the part of ``quorum export --format json`` that
``quorum import`` restores from.

The dump is read from the schema itself (SQLModel's metadata), so a table or column added later is in it
without a change here. Values are encoded by column type: instants as ISO 8601 UTC, dates as ISO dates,
everything else as JSON scalars. Rows are ordered by primary key, so two dumps of the same data are equal
byte for byte."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Integer, Table, func, insert, select, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (every table registered on the metadata)
from storage.db import AsyncSession
from storage.types import UTCDateTime

Dump = dict[str, list[dict[str, Any]]]
INSERT_CHUNK = 500
DUMP_PAGE = 1000  # rows encoded between two turns of the event loop


def tables() -> list[Table]:
    """Every table, parents before children."""
    return list(SQLModel.metadata.sorted_tables)


def _encode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


async def dump(session: AsyncSession) -> Dump:
    """Every table's rows, encoded. A page of rows at a time, with the event loop running others in
    between: a vote of 100,000 ballots must not stall the bot while it is backed up."""
    found: Dump = {}
    for table in tables():
        order = list(table.primary_key.columns) or list(table.columns)
        result = await session.stream(select(table).order_by(*order))
        encoded: list[dict[str, Any]] = []
        async for page in result.mappings().partitions(DUMP_PAGE):
            encoded.extend({column.name: _encode(column, row[column.name]) for column in table.columns}
                           for row in page)
            await asyncio.sleep(0)
        found[table.name] = encoded
    return found


async def schema_revision(session: AsyncSession) -> str | None:
    """The Alembic revision the database is at (the schema of a dump taken from it)."""
    rows = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    return ",".join(sorted(rows)) or None


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """Rows per table, for the tables that hold any."""
    counts = {}
    for table in tables():
        count = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        if count:
            counts[table.name] = count
    return counts


async def restore(session: AsyncSession, data: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, int]:
    """Insert every row of ``data`` (a ``dump`` of this schema) into empty tables; returns rows per table.
    Unknown tables or columns are an error (the dump is from another version: the caller says so)."""
    known = {table.name: table for table in tables()}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"tables this version does not have: {', '.join(unknown)}")
    restored = {}
    for table in tables():
        rows = data.get(table.name) or []
        columns = {column.name: column for column in table.columns}
        decoded = []
        for row in rows:
            extra = set(row) - set(columns)
            if extra:
                raise ValueError(f"{table.name} has no column {sorted(extra)[0]!r} in this version")
            decoded.append({name: _decode(columns[name], value) for name, value in row.items()})
        for start in range(0, len(decoded), INSERT_CHUNK):
            await session.execute(insert(table), decoded[start:start + INSERT_CHUNK])
        restored[table.name] = len(decoded)
    await _advance_sequences(session)
    return restored


async def _advance_sequences(session: AsyncSession) -> None:
    """PostgreSQL's id sequences do not see ids inserted explicitly: move each past the highest id, so the
    next record created gets a new one. (SQLite's rowids follow the table's content.)"""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    for table in tables():
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                await session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false) '
                    f"WHERE pg_get_serial_sequence('{table.name}', '{column.name}') IS NOT NULL"))
