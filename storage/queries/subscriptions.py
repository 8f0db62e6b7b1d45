"""Series subscriptions: members who asked for a reminder of every meeting of a series."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Subscription
from storage.queries.common import insert_ignoring_conflict


async def subscribe(session: AsyncSession, series_id: int, member_id: str, now: datetime) -> bool:
    """True when the member was not subscribed yet."""
    return await insert_ignoring_conflict(
        session, Subscription, {"series_id": series_id, "member_id": member_id, "created_at": now},
        ["series_id", "member_id"],
    )


async def unsubscribe(session: AsyncSession, series_id: int, member_id: str) -> bool:
    result = await session.execute(
        delete(Subscription).where(col(Subscription.series_id) == series_id, col(Subscription.member_id) == member_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def subscribers_of(session: AsyncSession, series_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = sorted(set(series_ids))
    found: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(col(Subscription.series_id), col(Subscription.member_id))
        .where(col(Subscription.series_id).in_(ids)).order_by(col(Subscription.member_id))
    )
    for series_id, member_id in rows.all():
        found[series_id].append(member_id)
    return found
