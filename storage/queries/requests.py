"""Keys of platform requests already handled, so a retried request never repeats a side effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import ProcessedRequest
from storage.queries.common import insert_ignoring_conflict


async def claim_request(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record ``key``; True when this is the first time it is seen. The primary key decides, so two
    replicas receiving the same retry at once cannot both claim it."""
    return await insert_ignoring_conflict(session, ProcessedRequest, {"key": key, "created_at": now}, ["key"])


async def forget_requests_before(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(ProcessedRequest).where(col(ProcessedRequest.created_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)
