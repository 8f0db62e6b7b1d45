"""Series and meetings."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Meeting, Series, Workspace
from storage.queries.common import core_rows, insert_ignoring_conflict, upsert_builder
from storage.queries.numbers import next_number
from storage.records import MeetingRecord, SeriesRecord

# The statements every command runs are built once (with bind parameters): building a statement costs
# more than SQLite takes to run it (bench/commands.py).
# The reads return Core rows, not entities (storage/records.py); the touch updates the table directly,
# where the ORM would also look for the series in the session.
_SERIES_TABLE = Series.__table__  # type: ignore[attr-defined]
_MEETING_TABLE = Meeting.__table__  # type: ignore[attr-defined]
_SERIES_BY_SLUG = select(_SERIES_TABLE).where(_SERIES_TABLE.c.workspace_id == bindparam("workspace"),
                                              _SERIES_TABLE.c.slug == bindparam("slug"))
_SERIES_BY_FEED_NAME = select(_SERIES_TABLE).where(_SERIES_TABLE.c.feed_name == bindparam("name"))
_SERIES_OF_WORKSPACE = select(_SERIES_TABLE).where(_SERIES_TABLE.c.workspace_id == bindparam("workspace")).order_by(
    _SERIES_TABLE.c.slug)
# Also due for reminder planning (storage/queries/plans.py): every change to a series or its meetings may
# change its messages.
_TOUCH_SERIES = update(_SERIES_TABLE).where(_SERIES_TABLE.c.id == bindparam("series")).values(
    updated_at=bindparam("now"), plan_at=bindparam("now"), plan_version=_SERIES_TABLE.c.plan_version + 1)
_MEETINGS_BETWEEN = (
    select(_MEETING_TABLE)
    .where(_MEETING_TABLE.c.series_id == bindparam("series"), _MEETING_TABLE.c.starts_at >= bindparam("start"),
           _MEETING_TABLE.c.starts_at < bindparam("end"))
    .order_by(_MEETING_TABLE.c.starts_at)
)
_MEETING_BY_KEY = select(Meeting).where(col(Meeting.series_id) == bindparam("series"),
                                        col(Meeting.occurrence_key) == bindparam("key"))


async def series_by_slug(session: AsyncSession, workspace_id: str, slug: str) -> SeriesRecord | None:
    """The series named ``slug`` in one workspace (slugs are names within a workspace)."""
    rows = await core_rows(session, _SERIES_BY_SLUG, {"workspace": workspace_id, "slug": slug})
    return rows[0] if rows else None


async def series_by_feed_name(session: AsyncSession, name: str) -> SeriesRecord | None:
    """The series whose public calendar is named ``name`` (unique across workspaces)."""
    rows = await core_rows(session, _SERIES_BY_FEED_NAME, {"name": name})
    return rows[0] if rows else None


async def series_by_id(session: AsyncSession, series_id: int) -> Series | None:
    return await session.get(Series, series_id)


async def series_of_workspace(session: AsyncSession, workspace_id: str) -> Sequence[SeriesRecord]:
    return await core_rows(session, _SERIES_OF_WORKSPACE, {"workspace": workspace_id})


async def all_series(session: AsyncSession) -> list[Series]:
    rows = await session.execute(select(Series).order_by(col(Series.slug)))
    return list(rows.scalars())


async def insert_series(session: AsyncSession, series: Series) -> bool:
    """False when the workspace already has the slug (decided by the unique constraint, not by a prior
    read). The calendar's name is the slug, or the slug and a random suffix when another workspace's
    calendar has that name (each try decided by its own unique constraint)."""
    values = series.model_dump(exclude={"id"})
    for feed_name in (series.slug, *(f"{series.slug}-{secrets.token_hex(3)}" for _ in range(5))):
        # Two unique constraints: ON CONFLICT DO NOTHING without a target covers both; which one refused
        # the row is then read back.
        if await insert_ignoring_conflict(session, Series, {**values, "feed_name": feed_name}, None):
            return True
        if await series_by_slug(session, series.workspace_id, series.slug) is not None:
            return False
    raise RuntimeError("no free calendar name after 6 tries")  # pragma: no cover - 16M names per slug


async def update_series(session: AsyncSession, series_id: int, values: dict[str, Any], now: datetime) -> None:
    """Change a series' settings; like ``touch_series`` it plans the series again."""
    if values:
        await session.execute(update(_SERIES_TABLE).where(_SERIES_TABLE.c.id == series_id).values(**values))
    await touch_series(session, series_id, now)


async def touch_series(session: AsyncSession, series_id: int, now: datetime) -> None:
    """Mark the series as changed, which invalidates its calendar feed and plans its reminders again."""
    await session.execute(_TOUCH_SERIES, {"series": series_id, "now": now})


async def meetings_between(
    session: AsyncSession, series_id: int, start: datetime, end: datetime
) -> Sequence[MeetingRecord]:
    return await core_rows(session, _MEETINGS_BETWEEN, {"series": series_id, "start": start, "end": end})


async def meetings_of_series(session: AsyncSession, series_id: int) -> list[Meeting]:
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id).order_by(col(Meeting.starts_at))
    )
    return list(rows.scalars())


async def meetings_of_workspace(session: AsyncSession, workspace_id: str | None) -> list[Meeting]:
    query = select(Meeting).order_by(col(Meeting.starts_at), col(Meeting.id))
    if workspace_id is not None:
        query = query.where(col(Meeting.workspace_id) == workspace_id)
    rows = await session.execute(query)
    return list(rows.scalars())


async def meeting_by_key(session: AsyncSession, series_id: int, key: str) -> Meeting | None:
    rows = await session.execute(_MEETING_BY_KEY, {"series": series_id, "key": key})
    return rows.scalars().first()


async def lock_meeting(session: AsyncSession, meeting_id: int) -> None:
    """Serialize writers of one meeting's agenda on PostgreSQL (row lock until commit). SQLite needs no
    lock: its write transactions start with BEGIN IMMEDIATE and already run one at a time."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        return
    await session.execute(select(col(Meeting.id)).where(col(Meeting.id) == meeting_id).with_for_update())


async def meeting_by_id(session: AsyncSession, meeting_id: int) -> Meeting | None:
    return await session.get(Meeting, meeting_id)


async def get_or_create_meeting(session: AsyncSession, values: dict[str, Any]) -> Meeting:
    """The stored meeting for (series, occurrence key), created from ``values`` if absent. Safe when two
    transactions create it at once: the unique constraint keeps one. A new meeting takes the workspace's
    next number (a number lost to such a race leaves a gap, which reveals nothing)."""
    existing = await meeting_by_key(session, int(values["series_id"]), str(values["occurrence_key"]))
    if existing is not None:
        return existing
    values = {**values, "number": await next_number(session, str(values["workspace_id"]), "meeting")}
    # The inserted row comes back from the INSERT itself; only a lost race reads the winner's.
    inserted = await session.execute(
        upsert_builder(session)(Meeting).values(**values)
        .on_conflict_do_nothing(index_elements=["series_id", "occurrence_key"]).returning(Meeting))
    meeting = inserted.scalars().first() or await meeting_by_key(session, int(values["series_id"]),
                                                                  str(values["occurrence_key"]))
    assert meeting is not None
    return meeting


async def count_meetings(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Meeting))).scalar_one())


async def scheduled_before(session: AsyncSession, series_id: int, before: datetime) -> list[Meeting]:
    """Stored meetings of the series still 'scheduled' that started before ``before``: the ones an outage
    longer than the planner's look-back left unmarked. Reads the series' past meetings through
    ix_meeting_series_starts (a few hundred rows after years of weekly meetings) once per planning."""
    rows = await session.execute(
        select(Meeting).where(col(Meeting.series_id) == series_id, col(Meeting.status) == "scheduled",
                              col(Meeting.starts_at) < before).order_by(col(Meeting.starts_at))
    )
    return list(rows.scalars())


async def default_series_id(session: AsyncSession, workspace_id: str) -> int | None:
    """The series a workspace's write commands use when nothing else names one (migration 0015)."""
    found = await session.execute(select(col(Workspace.default_series_id)).where(col(Workspace.id) == workspace_id))
    return found.scalar_one_or_none()


async def set_default_series(session: AsyncSession, workspace_id: str, series_id: int) -> None:
    await session.execute(update(Workspace).where(col(Workspace.id) == workspace_id)
                          .values(default_series_id=series_id))


async def upcoming_named(
    session: AsyncSession, workspace_id: str, name: str | None, after: datetime
) -> list[Meeting]:
    """The workspace's stored meetings that start after ``after`` and have a name (``name`` itself,
    ignoring case, when given), soonest first: what ``meeting=<name>`` may mean."""
    query = select(Meeting).where(col(Meeting.workspace_id) == workspace_id, col(Meeting.starts_at) > after,
                                  col(Meeting.name).is_not(None))
    if name is not None:
        query = query.where(func.lower(col(Meeting.name)) == name.lower())
    rows = await session.execute(query.order_by(col(Meeting.starts_at), col(Meeting.id)).limit(20))
    return list(rows.scalars())
