"""Calendar feeds: a series' private-feed token; the subscription page's listing of public series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Series
from storage.queries.common import core_rows
from storage.records import SeriesRecord

_SERIES_TABLE = Series.__table__  # type: ignore[attr-defined]
_PUBLIC_SERIES = (
    select(_SERIES_TABLE).where(_SERIES_TABLE.c.feed_token.is_(None)).order_by(_SERIES_TABLE.c.slug)
    .limit(bindparam("limit")).offset(bindparam("offset"))
)
# One row: how many series are public, and the sum of every series' change counter. Every change that
# shows on the page counts one plan_version of its series (meetings.touch_series, set_feed_token below),
# so the sum moves with every committed change, whatever the clock of the replica that made it said. (The
# latest updated_at did not: a change stamped at or below it, by a replica whose clock is behind or that
# took its time before waiting for the write lock, never changed it.)
_LISTING_STAMP = select(
    func.count() - func.count(_SERIES_TABLE.c.feed_token), func.coalesce(func.sum(_SERIES_TABLE.c.plan_version), 0)
)


async def set_feed_token(session: AsyncSession, series_id: int, token: str | None, now: datetime) -> None:
    """Set (or clear) the token and mark the series changed, which invalidates every cached feed of it and
    the cached listing (``listing_stamp``) of every replica."""
    await session.execute(
        update(Series).where(col(Series.id) == series_id)
        .values(feed_token=token, updated_at=now, plan_at=now, plan_version=col(Series.plan_version) + 1)
    )


async def public_series(session: AsyncSession, offset: int, limit: int) -> Sequence[SeriesRecord]:
    """One page of the public series, by slug."""
    return await core_rows(session, _PUBLIC_SERIES, {"offset": offset, "limit": limit})


async def listing_stamp(session: AsyncSession) -> tuple[int, int]:
    """The number of public series and the count of changes to any series: when neither moved, a rendered
    listing is still right."""
    values = tuple((await core_rows(session, _LISTING_STAMP, {}))[0])
    return int(values[0]), int(values[1])
