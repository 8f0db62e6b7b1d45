"""Links between meetings and the Discord scheduled events that mirror them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
