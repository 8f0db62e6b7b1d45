"""Keys of platform requests already handled, so a retried request never repeats a side effect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from storage.models import ProcessedRequest
from storage.queries.common import insert_ignoring_conflict


async def claim_request(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record ``key``; True when this is the first time it is seen. The primary key decides, so two
    replicas receiving the same retry at once cannot both claim it."""
    return await insert_ignoring_conflict(session, ProcessedRequest, {"key": key, "created_at": now}, ["key"])


async def accept_request(session: AsyncSession, key: str, now: datetime, payload: str, lease_until: datetime,
                         replica: str) -> bool:
    """Record ``key`` as accepted (acknowledged, not run yet) by ``replica``, with what is needed to run it
    again; True when this is the first time it is seen, as ``claim_request``."""
    return await insert_ignoring_conflict(session, ProcessedRequest, {
        "key": key, "created_at": now, "state": "accepted", "payload": payload, "lease_until": lease_until,
        "attempts": 1, "accepted_by": replica,
    }, ["key"])


async def finish_request(session: AsyncSession, key: str, state: str = "done", *, replica: str | None = None) -> None:
    """The request has run (or was given up): forget its payload. With ``replica``, only while that replica
    holds it (one whose lease ran out, and that another replica took over, no longer does)."""
    statement = update(ProcessedRequest).where(col(ProcessedRequest.key) == key)
    if replica is not None:
        statement = statement.where(col(ProcessedRequest.accepted_by) == replica)
    await session.execute(statement.values(state=state, payload=None, lease_until=None))


async def claim_interrupted(session: AsyncSession, now: datetime, lease_until: datetime, limit: int, *,
                            replica: str, started_at: datetime) -> list[tuple[str, str, int]]:
    """Accepted requests whose lease ran out (the process running them died), and those this ``replica``
    accepted before it last started (its previous run died: no need to wait for the lease), claimed
    again for this replica until ``lease_until``: (key, payload, runs so far including this one)."""
    table = SQLModel.metadata.tables["processedrequest"]
    interrupted = and_(table.c.state == "accepted", or_(
        table.c.lease_until <= now, and_(table.c.accepted_by == replica, table.c.created_at < started_at)))
    # A MATERIALIZED CTE, as the outbox's claim (storage/queries/outbox.py): the locking subquery runs once.
    chosen = (select(table.c.key).where(interrupted).order_by(table.c.lease_until).limit(limit)
              .with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED"))
    statement = (update(table)
                 .where(table.c.key.in_(select(chosen.c.key)), interrupted)
                 .values(lease_until=lease_until, attempts=table.c.attempts + 1, accepted_by=replica,
                         created_at=now)
                 .returning(table.c.key, table.c.payload, table.c.attempts))
    return [(row[0], row[1] or "", int(row[2])) for row in (await session.execute(statement)).all()]


async def forget_requests_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` keys claimed before ``before`` (oldest first), never one still waiting to run;
    returns how many."""
    chosen = (select(col(ProcessedRequest.key))
              .where(col(ProcessedRequest.created_at) < before, col(ProcessedRequest.state) != "accepted")
              .order_by(col(ProcessedRequest.created_at)).limit(limit))
    keys = list((await session.execute(chosen)).scalars())
    if keys:
        await session.execute(delete(ProcessedRequest).where(col(ProcessedRequest.key).in_(keys)))
    return len(keys)
