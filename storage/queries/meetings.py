"""Series and meetings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Meeting, Series
from storage.queries.common import insert_ignoring_conflict


async def series_by_slug(session: AsyncSession, slug: str) -> Series | None:
    rows = await session.execute(select(Series).where(col(Series.slug) == slug))
    return rows.scalars().first()


async def series_by_id(session: AsyncSession, series_id: int) -> Series | None:
    return await session.get(Series, series_id)


async def series_of_workspace(session: AsyncSession, workspace_id: str) -> list[Series]:
    rows = await session.execute(
        select(Series).where(col(Series.workspace_id) == workspace_id).order_by(col(Series.slug))
    )
    return list(rows.scalars())


async def all_series(session: AsyncSession) -> list[Series]:
    rows = await session.execute(select(Series).order_by(col(Series.slug)))
    return list(rows.scalars())


async def insert_series(session: AsyncSession, series: Series) -> bool:
    """False when the slug is taken (decided by the unique constraint, not by a prior read)."""
    values = series.model_dump(exclude={"id"})
    inserted = await insert_ignoring_conflict(session, Series, values, ["slug"])
    return inserted


async def touch_series(session: AsyncSession, series_id: int, now: datetime) -> None:
    """Mark the series as changed, which invalidates its calendar feed."""
    await session.execute(update(Series).where(col(Series.id) == series_id).values(updated_at=now))


async def meetings_between(session: AsyncSession, series_id: int, start: datetime, end: datetime) -> list[Meeting]:
    rows = await session.execute(
        select(Meeting)
        .where(col(Meeting.series_id) == series_id, col(Meeting.starts_at) >= start, col(Meeting.starts_at) < end)
        .order_by(col(Meeting.starts_at))
    )
    return list(rows.scalars())


async def meetings_of_series(session: AsyncSession, series_id: int) -> list[Meeting]:
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id).order_by(col(Meeting.starts_at))
    )
    return list(rows.scalars())


async def meetings_of_workspace(session: AsyncSession, workspace_id: str | None) -> list[Meeting]:
    query = select(Meeting).order_by(col(Meeting.starts_at), col(Meeting.id))
    if workspace_id is not None:
        query = query.where(col(Meeting.workspace_id) == workspace_id)
    rows = await session.execute(query)
    return list(rows.scalars())


async def meeting_by_key(session: AsyncSession, series_id: int, key: str) -> Meeting | None:
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id, col(Meeting.occurrence_key) == key)
    )
    return rows.scalars().first()


async def lock_meeting(session: AsyncSession, meeting_id: int) -> None:
    """Serialize writers of one meeting's agenda on PostgreSQL (row lock until commit). SQLite needs no
    lock: its write transactions start with BEGIN IMMEDIATE and already run one at a time."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        return
    await session.execute(select(col(Meeting.id)).where(col(Meeting.id) == meeting_id).with_for_update())


async def meeting_by_id(session: AsyncSession, meeting_id: int) -> Meeting | None:
    return await session.get(Meeting, meeting_id)


async def get_or_create_meeting(session: AsyncSession, values: dict[str, Any]) -> Meeting:
    """The stored meeting for (series, occurrence key), created from ``values`` if absent. Safe when two
    transactions create it at once: the unique constraint keeps one."""
    await insert_ignoring_conflict(session, Meeting, values, ["series_id", "occurrence_key"])
    meeting = await meeting_by_key(session, int(values["series_id"]), str(values["occurrence_key"]))
    assert meeting is not None
    return meeting


async def count_meetings(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Meeting))).scalar_one())
