"""Rotation rosters, skips, swaps, chair assignments, and meeting notes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    Meeting,
    MeetingNote,
    RotationAssignment,
    RotationCheckpoint,
    RotationMember,
    RotationSkip,
    RotationSwap,
)
from storage.queries.common import core_rows, insert_ignoring_conflict
from storage.queries.numbers import next_number

# Run by every view of a meeting (the provisional picks), so built once.
_FIRST_JOIN = select(func.min(col(RotationMember.joined_at))).where(
    col(RotationMember.series_id) == bindparam("series"))
# A fixed assignment that names nobody (the deadline hook of a series without rosters) starts nothing:
# the replay of meetings before anyone joined or was assigned picks nobody and changes no standing.
_FIRST_FIXED_START = select(func.min(col(Meeting.starts_at))).where(
    col(Meeting.series_id) == bindparam("series"), col(Meeting.assigned_at).is_not(None),
    or_(col(Meeting.host).is_not(None), col(Meeting.note_taker).is_not(None)))
_FIRST_CHAIR_START = select(func.min(col(Meeting.starts_at))).join(
    RotationAssignment, col(RotationAssignment.meeting_id) == col(Meeting.id)).where(
    col(Meeting.series_id) == bindparam("series"))
_ROTATION_START = select(_FIRST_JOIN.scalar_subquery(), _FIRST_FIXED_START.scalar_subquery(),
                         _FIRST_CHAIR_START.scalar_subquery())
_LATEST_CHECKPOINT = (
    select(col(RotationCheckpoint.through_at), col(RotationCheckpoint.state))
    .where(col(RotationCheckpoint.series_id) == bindparam("series"),
           col(RotationCheckpoint.through_at) < bindparam("before"))
    .order_by(col(RotationCheckpoint.through_at).desc()).limit(1)
)
_ROSTER_OF = (
    select(RotationMember).where(col(RotationMember.series_id) == bindparam("series"))
    .order_by(col(RotationMember.joined_at), col(RotationMember.id))
)


async def rotation_start(session: AsyncSession, series_id: int) -> datetime | None:
    """Where the series' rotation replay begins: its first roster join, its first meeting with a fixed
    assignment that names someone, or its first meeting with a chair's assignment, whichever came
    first; None when it has none of them (no rotation to show)."""
    row = (await core_rows(session, _ROTATION_START, {"series": series_id}))[0]
    starts = [s for s in row if s is not None]  # min() keeps the UTC-aware type
    return min(starts) if starts else None


async def roster_of(session: AsyncSession, series_id: int) -> list[RotationMember]:
    """Every stint on the series' rosters, past and present, in join order."""
    rows = await session.execute(_ROSTER_OF, {"series": series_id})
    return list(rows.scalars())


async def current_stint(session: AsyncSession, series_id: int, duty: str, member_id: str) -> RotationMember | None:
    rows = await session.execute(
        select(RotationMember).where(
            col(RotationMember.series_id) == series_id, col(RotationMember.duty) == duty,
            col(RotationMember.member_id) == member_id, col(RotationMember.left_at).is_(None),
        )
    )
    return rows.scalars().first()


async def add_stint(session: AsyncSession, series_id: int, duty: str, member_id: str, now: datetime) -> None:
    session.add(RotationMember(series_id=series_id, duty=duty, member_id=member_id, joined_at=now))
    await session.flush()


async def skips_of(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, set[str]]:
    ids = sorted(set(meeting_ids))
    found: dict[int, set[str]] = {}
    if not ids:
        return found
    rows = await session.execute(select(RotationSkip).where(col(RotationSkip.meeting_id).in_(ids)))
    for skip in rows.scalars():
        found.setdefault(skip.meeting_id, set()).add(skip.member_id)
    return found


async def add_skip(session: AsyncSession, meeting_id: int, member_id: str, now: datetime) -> bool:
    """False when the member had already skipped this meeting (the unique constraint decides)."""
    return await insert_ignoring_conflict(
        session, RotationSkip, {"meeting_id": meeting_id, "member_id": member_id, "created_at": now},
        ["meeting_id", "member_id"],
    )


async def assignments_of(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = sorted(set(meeting_ids))
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    rows = await session.execute(select(RotationAssignment).where(col(RotationAssignment.meeting_id).in_(ids)))
    for row in rows.scalars():
        found.setdefault(row.meeting_id, {})[row.duty] = row.member_id
    return found


async def set_assignment(session: AsyncSession, meeting_id: int, duty: str, member_id: str, by: str,
                         now: datetime) -> None:
    rows = await session.execute(select(RotationAssignment).where(
        col(RotationAssignment.meeting_id) == meeting_id, col(RotationAssignment.duty) == duty))
    existing = rows.scalars().first()
    if existing is None:
        session.add(RotationAssignment(meeting_id=meeting_id, duty=duty, member_id=member_id, assigned_by=by,
                                       created_at=now))
    else:
        existing.member_id, existing.assigned_by, existing.created_at = member_id, by, now
    await session.flush()


async def swaps_of_series(session: AsyncSession, series_id: int, status: str | None = None) -> list[RotationSwap]:
    query = select(RotationSwap).where(col(RotationSwap.series_id) == series_id)
    if status is not None:
        query = query.where(col(RotationSwap.status) == status)
    rows = await session.execute(query.order_by(col(RotationSwap.id)))
    return list(rows.scalars())


async def accepted_swaps_of(session: AsyncSession, meeting_ids: Iterable[int]) -> list[RotationSwap]:
    """The accepted swaps of these meetings, oldest first (the latest one of a duty wins)."""
    ids = sorted(set(meeting_ids))
    if not ids:
        return []
    rows = await session.execute(
        select(RotationSwap).where(col(RotationSwap.meeting_id).in_(ids), col(RotationSwap.status) == "accepted")
        .order_by(col(RotationSwap.id)))
    return list(rows.scalars())


async def latest_checkpoint(session: AsyncSession, series_id: int, before: datetime) -> tuple[datetime, str] | None:
    """The series' latest replay checkpoint strictly before ``before``: (through_at, state JSON)."""
    rows = await core_rows(session, _LATEST_CHECKPOINT, {"series": series_id, "before": before})
    if not rows:
        return None
    through_at, state = tuple(rows[0])
    return through_at, state


async def save_checkpoint(session: AsyncSession, series_id: int, through_at: datetime, state: str,
                          now: datetime) -> None:
    """Keep a replay checkpoint; one already stored for the same point (another replica) stands, as
    both describe the same settled meetings."""
    await insert_ignoring_conflict(session, RotationCheckpoint, {
        "series_id": series_id, "through_at": through_at, "state": state, "created_at": now},
        ["series_id", "through_at"])


async def get_swap(session: AsyncSession, swap_id: int) -> RotationSwap | None:
    return await session.get(RotationSwap, swap_id)


async def add_swap(session: AsyncSession, swap: RotationSwap) -> RotationSwap:
    swap.number = await next_number(session, swap.workspace_id, "rotationswap")
    session.add(swap)
    await session.flush()
    return swap


async def unfixed_due(session: AsyncSession, series_id: int, before: datetime) -> list[Meeting]:
    """Stored meetings starting before ``before`` whose assignment is not fixed yet."""
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id, col(Meeting.assigned_at).is_(None),
                              col(Meeting.starts_at) < before)
        .order_by(col(Meeting.starts_at))
    )
    return list(rows.scalars())


async def last_fixed(session: AsyncSession, series_id: int) -> Meeting | None:
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id, col(Meeting.assigned_at).is_not(None))
        .order_by(col(Meeting.starts_at).desc()).limit(1)
    )
    return rows.scalars().first()


# -- notes ----------------------------------------------------------------------------------------

async def notes_of(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, list[MeetingNote]]:
    ids = sorted(set(meeting_ids))
    found: dict[int, list[MeetingNote]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(MeetingNote).where(col(MeetingNote.meeting_id).in_(ids))
        .order_by(col(MeetingNote.meeting_id), col(MeetingNote.id))
    )
    for note in rows.scalars():
        found[note.meeting_id].append(note)
    return found


async def add_note(session: AsyncSession, note: MeetingNote) -> MeetingNote:
    session.add(note)
    await session.flush()
    return note


async def fix_meeting(session: AsyncSession, meeting_id: int, host: str | None, note_taker: str | None,
                      now: datetime) -> bool:
    """Record the assignment unless it was fixed already (by another replica or an earlier call):
    the ``assigned_at IS NULL`` condition makes fixing happen once."""
    from sqlalchemy import update

    result = await session.execute(
        update(Meeting).where(col(Meeting.id) == meeting_id, col(Meeting.assigned_at).is_(None))
        .values(host=host, note_taker=note_taker, assigned_at=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))
