"""When the reminder planner next has something to do for each series (``series.plan_at``).

A change that affects a series' messages sets ``plan_at`` to now and counts one ``plan_version``
(``replan``; ``meetings.touch_series`` does the same); the planner stores the next instant it found
only if the version it read before planning is still the one stored (``store_plan``), so a change
committed while it planned is planned again on the next tick instead of being overwritten.

Two replicas never plan one series at once (``lock_planning``): a planner that read a meeting before the
other committed its deadline step, and its outbox rows after, would take the messages just written for
the new state (the host's DM) as unwanted and mark them missed or cancelled, for good."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Series
from storage.queries.common import core_rows

_SERIES = Series.__table__  # type: ignore[attr-defined]
_DUE = select(_SERIES.c.id).where(_SERIES.c.plan_at <= bindparam("now")).order_by(_SERIES.c.plan_at, _SERIES.c.id)
_NEXT = select(func.min(_SERIES.c.plan_at)).where(_SERIES.c.plan_at > bindparam("now"))
_STORE = (
    update(_SERIES)
    .where(_SERIES.c.id == bindparam("series"), _SERIES.c.plan_version == bindparam("version"))
    .values(plan_at=bindparam("at"))
)


# PostgreSQL advisory locks are keyed (class, object): this class is "reminder planning of a series".
_PLANNING_LOCK_CLASS = 0x51524D44
_LOCK_PLANNING = text("SELECT pg_advisory_xact_lock(:lock_class, :series)")


async def lock_planning(session: AsyncSession, series_id: int) -> None:
    """Plan ``series_id`` alone: on PostgreSQL, wait until no other transaction plans it, and hold that
    until this one ends. An advisory lock rather than the series row: commands lock a meeting row and
    then touch the series row, and a planner that locked the series row first and then updated a meeting
    (deadline step, held) would deadlock with them; nothing but planners takes this lock. SQLite needs
    none: its write transactions run one at a time."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        return
    await session.execute(_LOCK_PLANNING, {"lock_class": _PLANNING_LOCK_CLASS, "series": series_id})


async def due_series(session: AsyncSession, now: datetime) -> list[int]:
    """The series whose planning is due (served by ``ix_series_plan_at``)."""
    return [row[0] for row in await core_rows(session, _DUE, {"now": now})]


async def next_plan_at(session: AsyncSession, now: datetime) -> datetime | None:
    """The earliest future instant any series' planning is due."""
    rows = await core_rows(session, _NEXT, {"now": now})
    return rows[0][0] if rows else None


async def store_plan(session: AsyncSession, series_id: int, version: int, at: datetime) -> bool:
    """Store the next planning instant unless the series changed since ``version`` was read."""
    result = await session.execute(_STORE, {"series": series_id, "version": version, "at": at})
    return bool(getattr(result, "rowcount", 0))


async def replan(session: AsyncSession, now: datetime, *, series_id: int | None = None,
                 workspace_id: str | None = None) -> None:
    """Plan the series (or every series of the workspace) again on the next tick: something their
    messages depend on changed (a subscription, a member's reminder settings or zone)."""
    statement = update(_SERIES).values(plan_at=now, plan_version=_SERIES.c.plan_version + 1)
    if series_id is not None:
        statement = statement.where(_SERIES.c.id == series_id)
    elif workspace_id is not None:
        statement = statement.where(_SERIES.c.workspace_id == workspace_id)
    else:
        raise ValueError("replan needs a series or a workspace")
    await session.execute(statement)
