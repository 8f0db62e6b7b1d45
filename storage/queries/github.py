"""GitHub: members' logins and the labellings that became agenda items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import GitHubLabelItem, GitHubLogin
from storage.queries.common import insert_ignoring_conflict


async def login_owner(session: AsyncSession, workspace_id: str, login: str) -> str | None:
    """The member who linked ``login`` in this workspace, if any."""
    rows = await session.execute(select(col(GitHubLogin.member_id)).where(
        col(GitHubLogin.workspace_id) == workspace_id, col(GitHubLogin.login) == login.lower()))
    return rows.scalars().first()


async def set_login(session: AsyncSession, workspace_id: str, member_id: str, login: str, now: datetime) -> None:
    """Link ``login`` to the member, replacing the member's previous login."""
    await session.execute(delete(GitHubLogin).where(col(GitHubLogin.workspace_id) == workspace_id,
                                                    col(GitHubLogin.member_id) == member_id))
    session.add(GitHubLogin(workspace_id=workspace_id, member_id=member_id, login=login.lower(), created_at=now))
    await session.flush()


async def record_labelling(session: AsyncSession, values: dict[str, object]) -> bool:
    """Record one labelling; False when it was recorded already (the unique constraint decides, so two
    replicas polling at once add the item once)."""
    return await insert_ignoring_conflict(session, GitHubLabelItem, values,
                                          ["series_id", "repo", "number", "labelled_at"])


async def labellings_of(session: AsyncSession, series_id: int, repo: str) -> list[GitHubLabelItem]:
    rows = await session.execute(select(GitHubLabelItem).where(
        col(GitHubLabelItem.series_id) == series_id, col(GitHubLabelItem.repo) == repo.lower()))
    return list(rows.scalars())


async def labellings_of_meetings(session: AsyncSession, meeting_ids: Iterable[int]) -> list[GitHubLabelItem]:
    ids = sorted(set(meeting_ids))
    if not ids:
        return []
    rows = await session.execute(select(GitHubLabelItem).where(col(GitHubLabelItem.meeting_id).in_(ids)))
    return list(rows.scalars())


async def forget_labelling(session: AsyncSession, labelling_id: int) -> None:
    await session.execute(delete(GitHubLabelItem).where(col(GitHubLabelItem.id) == labelling_id))
