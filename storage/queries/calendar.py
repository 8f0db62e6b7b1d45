"""Calendar feeds: a series' private-feed token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Series


async def set_feed_token(session: AsyncSession, series_id: int, token: str | None, now: datetime) -> None:
    """Set (or clear) the token and mark the series changed, which invalidates every cached feed of it."""
    await session.execute(
        update(Series).where(col(Series.id) == series_id).values(feed_token=token, updated_at=now)
    )
