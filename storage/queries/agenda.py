"""Agenda items."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import AgendaItem
from storage.queries.common import core_rows
from storage.queries.numbers import next_number
from storage.records import AgendaItemRecord

# Built once: building a statement costs more than SQLite takes to run it (bench/commands.py).
_ITEMS_OF = (
    select(AgendaItem)
    .where(col(AgendaItem.meeting_id) == bindparam("meeting"))
    .order_by(col(AgendaItem.position), col(AgendaItem.id))
)
_ITEM_TABLE = AgendaItem.__table__  # type: ignore[attr-defined]
_ITEMS_OF_MANY = (  # Core rows, not entities (storage/records.py)
    select(_ITEM_TABLE)
    .where(_ITEM_TABLE.c.meeting_id.in_(bindparam("meetings", expanding=True)))
    .order_by(_ITEM_TABLE.c.meeting_id, _ITEM_TABLE.c.position, _ITEM_TABLE.c.id)
)


async def items_of(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    rows = await session.execute(_ITEMS_OF, {"meeting": meeting_id})
    return list(rows.scalars())


async def items_of_many(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, list[AgendaItemRecord]]:
    ids = sorted(set(meeting_ids))
    found: dict[int, list[AgendaItemRecord]] = {i: [] for i in ids}
    if not ids:
        return found
    for item in await core_rows(session, _ITEMS_OF_MANY, {"meetings": ids}):
        found[item.meeting_id].append(item)
    return found


async def get_item(session: AsyncSession, item_id: int) -> AgendaItem | None:
    return await session.get(AgendaItem, item_id)


_ITEM_COLUMNS = ("meeting_id", "workspace_id", "number", "position", "title", "link", "link_key", "author",
                 "author_name", "added_at")
# On the table, not the entity: an ORM-enabled INSERT ... RETURNING costs about 1 ms of Python here.
_INSERT_ITEM = {
    dialect: builder(_ITEM_TABLE)
    .values({name: bindparam(name) for name in _ITEM_COLUMNS})
    .on_conflict_do_nothing(index_elements=["meeting_id", "link_key"])
    .returning(*_ITEM_TABLE.columns)
    for dialect, builder in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


async def insert_item(session: AsyncSession, values: dict[str, Any]) -> AgendaItemRecord | None:
    """The new item, or None when the meeting already has this link (the unique constraint decides; the
    caller then rolls back, which gives the number back). Its per-workspace number is allocated here."""
    values = {**values, "number": await next_number(session, values["workspace_id"], "agendaitem")}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (await session.execute(_INSERT_ITEM[dialect], {name: values[name] for name in _ITEM_COLUMNS})).first()


async def item_with_link(session: AsyncSession, meeting_id: int, link_key: str) -> AgendaItem | None:
    rows = await session.execute(
        select(AgendaItem).where(col(AgendaItem.meeting_id) == meeting_id, col(AgendaItem.link_key) == link_key)
    )
    return rows.scalars().first()


async def delete_item(session: AsyncSession, item_id: int) -> None:
    await session.execute(delete(AgendaItem).where(col(AgendaItem.id) == item_id))


async def set_positions(session: AsyncSession, items: Sequence[AgendaItem], ordered_ids: Sequence[int]) -> None:
    by_id = {item.id: item for item in items}
    for position, item_id in enumerate(ordered_ids, start=1):
        by_id[item_id].position = position
