"""What about open votes is due, for the scheduler's vote planner (bot/services/vote_notices.py): each
query is served by ``ix_vote_status_closes_at``, so a tick costs by the votes that are due, not by how
many are open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Vote


@dataclass(frozen=True)
class OpenVote:
    id: int
    opened_at: datetime
    closes_at: datetime


async def open_closing_between(session: AsyncSession, start: datetime | None, until: datetime) -> list[OpenVote]:
    """The open votes that close from ``start`` (None: any time) to ``until``, both included, nearest
    deadline first. (Those past their deadline: ``votes.due_vote_ids``.)"""
    statement = (
        select(col(Vote.id), col(Vote.opened_at), col(Vote.closes_at))
        .where(col(Vote.status) == "open", col(Vote.closes_at) <= until)
        .order_by(col(Vote.closes_at), col(Vote.id))
    )
    if start is not None:
        statement = statement.where(col(Vote.closes_at) >= start)
    rows = await session.execute(statement)
    return [OpenVote(int(i or 0), opened, closes) for i, opened, closes in rows.all()]


async def first_close_after(session: AsyncSession, after: datetime) -> datetime | None:
    """The nearest deadline of an open vote that closes after ``after``."""
    found = await session.execute(
        select(func.min(col(Vote.closes_at))).where(col(Vote.status) == "open", col(Vote.closes_at) > after))
    return found.scalar_one_or_none()
