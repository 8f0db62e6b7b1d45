"""Agenda items."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import AgendaItem


async def items_of(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    rows = await session.execute(
        select(AgendaItem)
        .where(col(AgendaItem.meeting_id) == meeting_id)
        .order_by(col(AgendaItem.position), col(AgendaItem.id))
    )
    return list(rows.scalars())


async def items_of_many(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, list[AgendaItem]]:
    ids = sorted(set(meeting_ids))
    found: dict[int, list[AgendaItem]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(AgendaItem)
        .where(col(AgendaItem.meeting_id).in_(ids))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position), col(AgendaItem.id))
    )
    for item in rows.scalars():
        found[item.meeting_id].append(item)
    return found


async def get_item(session: AsyncSession, item_id: int) -> AgendaItem | None:
    return await session.get(AgendaItem, item_id)


async def next_position(session: AsyncSession, meeting_id: int) -> int:
    result = await session.execute(
        select(func.coalesce(func.max(col(AgendaItem.position)), 0)).where(col(AgendaItem.meeting_id) == meeting_id)
    )
    return int(result.scalar_one()) + 1


async def insert_item(session: AsyncSession, values: dict[str, Any]) -> AgendaItem | None:
    """The new item, or None when the meeting already has this link (the unique constraint decides)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        builder(AgendaItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["meeting_id", "link_key"])
        .returning(AgendaItem)
    )
    row = (await session.execute(statement)).scalars().first()
    return row


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
