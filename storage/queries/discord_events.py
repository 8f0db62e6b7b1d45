"""Links between meetings and the Discord scheduled events that mirror them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import DiscordEvent


async def links_of_series(session: AsyncSession, series_ids: list[int]) -> list[DiscordEvent]:
    if not series_ids:
        return []
    rows = await session.execute(select(DiscordEvent).where(col(DiscordEvent.series_id).in_(series_ids)))
    return list(rows.scalars())


async def save_link(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or overwrite the link of one meeting (a meeting has at most one live event)."""
    row = await session.get(DiscordEvent, (values["series_id"], values["occurrence_key"]))
    if row is None:
        session.add(DiscordEvent(**values))
        return
    for key, value in values.items():
        setattr(row, key, value)


async def prune_links_ended_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` links of meetings that ended before ``before``: the sync only looks at meetings
    still to come, so nothing reads them again. Returns how many were deleted."""
    chosen = (select(col(DiscordEvent.series_id), col(DiscordEvent.occurrence_key))
              .where(col(DiscordEvent.ends_at) < before).order_by(col(DiscordEvent.ends_at)).limit(limit))
    keys = [tuple(row) for row in (await session.execute(chosen)).all()]
    if keys:
        await session.execute(delete(DiscordEvent).where(
            tuple_(col(DiscordEvent.series_id), col(DiscordEvent.occurrence_key)).in_(keys)))
    return len(keys)
