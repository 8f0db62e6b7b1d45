"""Votes, their electorate snapshots, current ballots and hash-chained events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from storage.models import Vote, VoteBallot, VoteElectorate, VoteEvent, VoteMessage
from storage.queries.common import insert_ignoring_conflict


async def insert_vote(session: AsyncSession, values: dict[str, Any]) -> Vote:
    vote = Vote(**values)
    session.add(vote)
    await session.flush()
    return vote


async def get_vote(session: AsyncSession, vote_id: int) -> Vote | None:
    return await session.get(Vote, vote_id)


async def lock_vote(session: AsyncSession, vote_id: int) -> Vote | None:
    """The vote, locked for this transaction (``FOR UPDATE`` on PostgreSQL; on SQLite the write
    transaction already holds the database lock). Every change to a vote takes this lock first, so its
    events are appended one after the other and get consecutive sequence numbers."""
    rows = await session.execute(
        select(Vote).where(col(Vote.id) == vote_id).with_for_update().execution_options(populate_existing=True)
    )
    return rows.scalars().first()


async def update_vote(session: AsyncSession, vote_id: int, **fields: Any) -> None:
    await session.execute(update(Vote).where(col(Vote.id) == vote_id).values(**fields))


async def votes_of_workspace(session: AsyncSession, workspace_id: str, status: str | None = None) -> list[Vote]:
    query = select(Vote).where(col(Vote.workspace_id) == workspace_id)
    if status is not None:
        query = query.where(col(Vote.status) == status)
    rows = await session.execute(query.order_by(col(Vote.id)))
    return list(rows.scalars())


async def all_votes(session: AsyncSession, workspace_ids: Iterable[str] | None = None) -> list[Vote]:
    query = select(Vote).order_by(col(Vote.id))
    if workspace_ids is not None:
        query = query.where(col(Vote.workspace_id).in_(sorted(set(workspace_ids))))
    rows = await session.execute(query)
    return list(rows.scalars())


async def open_votes(session: AsyncSession) -> list[Vote]:
    """Every open vote of every workspace, nearest deadline first (the scheduler's vote planner)."""
    rows = await session.execute(
        select(Vote).where(col(Vote.status) == "open").order_by(col(Vote.closes_at), col(Vote.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def due_vote_ids(session: AsyncSession, now: datetime, limit: int = 100) -> list[int]:
    rows = await session.execute(
        select(col(Vote.id))
        .where(col(Vote.status) == "open", col(Vote.closes_at) <= now)
        .order_by(col(Vote.closes_at), col(Vote.id))
        .limit(limit)
    )
    return [int(i) for i in rows.scalars() if i is not None]


async def insert_electorate(session: AsyncSession, vote_id: int, members: Sequence[tuple[str, str]]) -> None:
    session.add_all(VoteElectorate(vote_id=vote_id, member_id=m, display_name=n) for m, n in members)
    await session.flush()


async def electorate_of(session: AsyncSession, vote_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(col(VoteElectorate.member_id), col(VoteElectorate.display_name))
        .where(col(VoteElectorate.vote_id) == vote_id)
        .order_by(col(VoteElectorate.member_id))
    )
    return [(r[0], r[1]) for r in rows]


async def electorate_of_many(session: AsyncSession, vote_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    ids = sorted(set(vote_ids))
    found: dict[int, list[tuple[str, str]]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(col(VoteElectorate.vote_id), col(VoteElectorate.member_id), col(VoteElectorate.display_name))
            .where(col(VoteElectorate.vote_id).in_(ids))
            .order_by(col(VoteElectorate.vote_id), col(VoteElectorate.member_id))
        )
        for vote_id, member_id, name in rows:
            found[vote_id].append((member_id, name))
    return found


_BALLOT_COLUMNS = (col(VoteBallot.vote_id), col(VoteBallot.voter), col(VoteBallot.voter_name),
                   col(VoteBallot.value), col(VoteBallot.comment), col(VoteBallot.binding),
                   col(VoteBallot.cast_at), col(VoteBallot.changes))

BallotRow = tuple[int, str, str, str, str | None, bool, datetime, int]


async def ballots_of_many(session: AsyncSession, vote_ids: Iterable[int]) -> dict[int, list[BallotRow]]:
    """Current ballots as plain tuples (a vote can have thousands: rows, not ORM objects), in the order
    voters first voted."""
    ids = sorted(set(vote_ids))
    found: dict[int, list[BallotRow]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(*_BALLOT_COLUMNS).where(col(VoteBallot.vote_id).in_(ids))
            .order_by(col(VoteBallot.vote_id), col(VoteBallot.id))
        )
        for row in rows:
            found[row[0]].append(tuple(row))  # type: ignore[arg-type]
    return found


async def ballot_of(session: AsyncSession, vote_id: int, voter: str) -> VoteBallot | None:
    rows = await session.execute(
        select(VoteBallot).where(col(VoteBallot.vote_id) == vote_id, col(VoteBallot.voter) == voter)
        .execution_options(populate_existing=True)
    )
    return rows.scalars().first()


async def upsert_ballot(session: AsyncSession, values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT (vote_id, voter) DO UPDATE on either database: whatever the timing, a
    member has exactly one current ballot per vote (the unique constraint decides, not a prior read)."""
    table = SQLModel.metadata.tables["ballot"]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = builder(table).values(**values)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=["vote_id", "voter"],
        set_={
            "voter_name": excluded.voter_name, "value": excluded.value, "comment": excluded.comment,
            "binding": excluded.binding, "cast_at": excluded.cast_at,
            "changes": table.c.changes + 1,
        },
    )
    await session.execute(statement)


async def last_event(session: AsyncSession, vote_id: int) -> VoteEvent | None:
    rows = await session.execute(
        select(VoteEvent).where(col(VoteEvent.vote_id) == vote_id).order_by(col(VoteEvent.seq).desc()).limit(1)
    )
    return rows.scalars().first()


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> None:
    session.add(VoteEvent(**values))
    await session.flush()


EventRow = tuple[int, int, str, str, datetime, str, str]


async def events_of_many(session: AsyncSession, vote_ids: Iterable[int]) -> dict[int, list[EventRow]]:
    """(vote_id, seq, kind, payload, created_at, prev_hash, hash) per vote, in sequence order."""
    ids = sorted(set(vote_ids))
    found: dict[int, list[EventRow]] = {i: [] for i in ids}
    if ids:
        rows = await session.execute(
            select(col(VoteEvent.vote_id), col(VoteEvent.seq), col(VoteEvent.kind), col(VoteEvent.payload),
                   col(VoteEvent.created_at), col(VoteEvent.prev_hash), col(VoteEvent.hash))
            .where(col(VoteEvent.vote_id).in_(ids))
            .order_by(col(VoteEvent.vote_id), col(VoteEvent.seq))
        )
        for row in rows:
            found[row[0]].append(tuple(row))  # type: ignore[arg-type]
    return found


async def add_message(session: AsyncSession, vote_id: int, message_ref: str, now: datetime) -> None:
    """Remember a message showing the vote (recording it twice keeps one row)."""
    await insert_ignoring_conflict(session, VoteMessage, {"vote_id": vote_id, "message_ref": message_ref,
                                                          "recorded_at": now}, ["vote_id", "message_ref"])


async def messages_of(session: AsyncSession, vote_id: int) -> list[str]:
    rows = await session.execute(
        select(col(VoteMessage.message_ref)).where(col(VoteMessage.vote_id) == vote_id)
        .order_by(col(VoteMessage.recorded_at), col(VoteMessage.message_ref))
    )
    return list(rows.scalars())
