"""Workspaces, members and role grants."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Member, RoleGrant, Workspace
from storage.queries.common import insert_ignoring_conflict


async def ensure_workspace(session: AsyncSession, workspace_id: str, platform: str, now: datetime) -> None:
    await insert_ignoring_conflict(
        session, Workspace, {"id": workspace_id, "platform": platform, "name": "", "created_at": now}, ["id"]
    )


async def get_member(session: AsyncSession, workspace_id: str, member_id: str) -> Member | None:
    return await session.get(Member, (workspace_id, member_id))


async def upsert_member(
    session: AsyncSession, workspace_id: str, member_id: str, display_name: str, now: datetime
) -> Member:
    member = await session.get(Member, (workspace_id, member_id))
    if member is None:
        await insert_ignoring_conflict(
            session,
            Member,
            {"workspace_id": workspace_id, "id": member_id, "display_name": display_name, "updated_at": now},
            ["workspace_id", "id"],
        )
        member = await session.get(Member, (workspace_id, member_id))
        assert member is not None
    elif member.display_name != display_name:
        member.display_name = display_name
        member.updated_at = now
    return member


async def set_member_fields(
    session: AsyncSession, workspace_id: str, member_id: str, now: datetime, **fields: str | None
) -> Member:
    member = await session.get(Member, (workspace_id, member_id))
    if member is None:
        raise LookupError(member_id)
    for key, value in fields.items():
        setattr(member, key, value)
    member.updated_at = now
    return member


class RecordedMember(NamedTuple):
    """What a workspace holds on a member: their name and the roles a platform last reported for them,
    with the oldest of those reports (None when there are no platform roles)."""

    display_name: str
    platform_roles: frozenset[str]
    oldest_evidence: datetime | None


_MEMBER_TABLE = Member.__table__  # type: ignore[attr-defined]
_GRANT_TABLE = RoleGrant.__table__  # type: ignore[attr-defined]
# One statement, built once (bind parameters): a member's first command of the day runs it.
_RECORDED_MEMBER = (
    select(_MEMBER_TABLE.c.display_name, _GRANT_TABLE.c.role, _GRANT_TABLE.c.seen_at)
    .select_from(_MEMBER_TABLE.outerjoin(_GRANT_TABLE, and_(
        _GRANT_TABLE.c.workspace_id == _MEMBER_TABLE.c.workspace_id, _GRANT_TABLE.c.member_id == _MEMBER_TABLE.c.id,
        _GRANT_TABLE.c.source == "platform")))
    .where(_MEMBER_TABLE.c.workspace_id == bindparam("workspace"), _MEMBER_TABLE.c.id == bindparam("member"))
)


async def recorded_member(session: AsyncSession, workspace_id: str, member_id: str) -> RecordedMember | None:
    """The member as recorded, or None when the workspace has never seen them."""
    rows = (await session.execute(_RECORDED_MEMBER, {"workspace": workspace_id, "member": member_id})).all()
    if not rows:
        return None
    seen = [row[2] for row in rows if row[1] is not None]
    return RecordedMember(rows[0][0], frozenset(row[1] for row in rows if row[1] is not None),
                          min(seen) if seen else None)


async def platform_roles(session: AsyncSession, workspace_id: str, member_id: str) -> set[str]:
    rows = await session.execute(
        select(col(RoleGrant.role)).where(
            col(RoleGrant.workspace_id) == workspace_id,
            col(RoleGrant.member_id) == member_id,
            col(RoleGrant.source) == "platform",
        )
    )
    return set(rows.scalars())


async def replace_platform_roles(
    session: AsyncSession, workspace_id: str, member_id: str, roles: Iterable[str], now: datetime
) -> None:
    await session.execute(
        delete(RoleGrant).where(
            col(RoleGrant.workspace_id) == workspace_id,
            col(RoleGrant.member_id) == member_id,
            col(RoleGrant.source) == "platform",
        )
    )
    for role in sorted(set(roles)):
        session.add(
            RoleGrant(workspace_id=workspace_id, member_id=member_id, role=role, source="platform", seen_at=now)
        )


async def refresh_platform_roles(session: AsyncSession, workspace_id: str, member_id: str, now: datetime) -> None:
    """The member was seen again holding the roles recorded for them: their evidence is as of now."""
    await session.execute(
        update(RoleGrant).where(
            col(RoleGrant.workspace_id) == workspace_id,
            col(RoleGrant.member_id) == member_id,
            col(RoleGrant.source) == "platform",
        ).values(seen_at=now)
    )


async def role_evidence(session: AsyncSession, workspace_id: str, role: str, since: datetime) -> dict[str, datetime]:
    """Member -> when the platform last reported them holding ``role``, for reports at or after ``since``."""
    rows = await session.execute(
        select(col(RoleGrant.member_id), col(RoleGrant.seen_at)).where(
            col(RoleGrant.workspace_id) == workspace_id, col(RoleGrant.role) == role,
            col(RoleGrant.source) == "platform", col(RoleGrant.seen_at) >= since,
        )
    )
    return {row[0]: row[1] for row in rows}


async def replace_role_holders(
    session: AsyncSession, workspace_id: str, role: str, member_ids: Iterable[str], now: datetime
) -> None:
    """Record a full listing of a role's holders from the platform (Discord role, Slack user group)."""
    await session.execute(
        delete(RoleGrant).where(
            col(RoleGrant.workspace_id) == workspace_id,
            col(RoleGrant.role) == role,
            col(RoleGrant.source) == "platform",
        )
    )
    for member_id in sorted(set(member_ids)):
        session.add(
            RoleGrant(workspace_id=workspace_id, member_id=member_id, role=role, source="platform", seen_at=now)
        )


async def role_holders(session: AsyncSession, workspace_id: str, role: str) -> list[str]:
    rows = await session.execute(
        select(col(RoleGrant.member_id))
        .where(col(RoleGrant.workspace_id) == workspace_id, col(RoleGrant.role) == role)
        .distinct()
    )
    return sorted(rows.scalars())


_DISPLAY_NAMES = select(col(Member.id), col(Member.display_name)).where(
    col(Member.workspace_id) == bindparam("workspace"), col(Member.id).in_(bindparam("members", expanding=True)))


async def display_names(session: AsyncSession, workspace_id: str, member_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    rows = await session.execute(_DISPLAY_NAMES, {"workspace": workspace_id, "members": ids})
    return {row[0]: row[1] for row in rows}


async def members_of(session: AsyncSession, workspace_id: str, member_ids: Iterable[str]) -> list[Member]:
    ids = sorted(set(member_ids))
    if not ids:
        return []
    rows = await session.execute(
        select(Member).where(col(Member.workspace_id) == workspace_id, col(Member.id).in_(ids))
    )
    return list(rows.scalars())
