"""Keys of platform requests already handled, so a retried request never repeats a side effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ProcessedRequest
from storage.queries.common import insert_ignoring_conflict


async def claim_request(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record ``key``; True when this is the first time it is seen. The primary key decides, so two
    replicas receiving the same retry at once cannot both claim it."""
    return await insert_ignoring_conflict(session, ProcessedRequest, {"key": key, "created_at": now}, ["key"])


async def forget_requests_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` keys claimed before ``before`` (oldest first); returns how many."""
    chosen = (select(col(ProcessedRequest.key)).where(col(ProcessedRequest.created_at) < before)
              .order_by(col(ProcessedRequest.created_at)).limit(limit))
    keys = list((await session.execute(chosen)).scalars())
    if keys:
        await session.execute(delete(ProcessedRequest).where(col(ProcessedRequest.key).in_(keys)))
    return len(keys)
