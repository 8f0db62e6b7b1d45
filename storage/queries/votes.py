"""Votes, their electorate snapshots, current ballots and hash-chained events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, false, func, insert, literal_column, select, true, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col

from storage.models import Member, Vote, VoteBallot, VoteElectorate, VoteEvent, VoteMessage
from storage.queries.common import insert_ignoring_conflict
from storage.queries.numbers import next_number


async def insert_vote(session: AsyncSession, values: dict[str, Any]) -> Vote:
    vote = Vote(**values, number=await next_number(session, values["workspace_id"], "vote"))
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


class CastTarget(NamedTuple):
    vote: Vote
    opener_name: str | None  # the opener's display name, if the workspace knows it
    any_due: bool  # some open vote (this one or another) is past its deadline


def _cast_target_statement(*, by_number: bool) -> Any:
    """The statement ``lock_vote_for_cast`` runs, built once: building it (the alias of ``vote`` above
    all) cost a cast as much as running it. The vote (its id, or its workspace and number) and the
    instant are bound parameters."""
    other = aliased(Vote)
    due = exists().where(col(other.status) == "open", col(other.closes_at) <= bindparam("now")).correlate(None)
    opener = (
        select(col(Member.display_name))
        .where(col(Member.workspace_id) == col(Vote.workspace_id), col(Member.id) == col(Vote.opened_by))
        .scalar_subquery()
    )
    which = ((col(Vote.workspace_id) == bindparam("workspace"), col(Vote.number) == bindparam("number"))
             if by_number else (col(Vote.id) == bindparam("vote_id"),))
    return (
        select(Vote, opener, due).where(*which).with_for_update(of=Vote)
        .execution_options(populate_existing=True)
    )


_CAST_TARGET = _cast_target_statement(by_number=False)
_NUMBERED_CAST_TARGET = _cast_target_statement(by_number=True)


async def lock_vote_for_cast(session: AsyncSession, vote_id: int, now: datetime) -> CastTarget | None:
    """``lock_vote`` in the one statement a cast begins with, which also answers what the cast would
    otherwise ask in statements of their own: whether some vote is due to close (commands close those
    first) and the opener's display name (the reply shows it). On PostgreSQL the lock is ``FOR UPDATE OF
    vote``: the member row is only read. Both answers come from the statement's snapshot, which may be
    older than the lock it waited for: neither is used to write (``any_due`` leads to ``close_due``,
    which checks each vote again under its own lock)."""
    return _cast_target(await session.execute(_CAST_TARGET, {"vote_id": vote_id, "now": now}))


async def lock_numbered_vote_for_cast(session: AsyncSession, workspace_id: str, number: int,
                                      now: datetime) -> CastTarget | None:
    """``lock_vote_for_cast`` of the vote a member named ``#number`` in their workspace: the number is
    looked up in the same statement, so a cast typed with a number costs no read of its own."""
    return _cast_target(await session.execute(_NUMBERED_CAST_TARGET,
                                              {"workspace": workspace_id, "number": number, "now": now}))


def _cast_target(rows: Any) -> CastTarget | None:
    row = rows.first()
    return None if row is None else CastTarget(row[0], row[1], bool(row[2]))


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


async def due_vote_ids(session: AsyncSession, now: datetime, limit: int | None = 100) -> list[int]:
    """The open votes past their deadline, nearest deadline first (``ix_vote_status_closes_at``)."""
    rows = await session.execute(
        select(col(Vote.id))
        .where(col(Vote.status) == "open", col(Vote.closes_at) <= now)
        .order_by(col(Vote.closes_at), col(Vote.id))
        .limit(limit)
    )
    return [int(i) for i in rows.scalars() if i is not None]


async def insert_electorate(session: AsyncSession, vote_id: int,
                            members: Sequence[tuple[str, str, str | None, datetime | None]]) -> None:
    """The snapshot: (member id, display name, source, seen at) of each member."""
    session.add_all(VoteElectorate(vote_id=vote_id, member_id=m, display_name=n, source=source, seen_at=seen)
                    for m, n, source, seen in members)
    await session.flush()


ElectorateRow = tuple[str, str, str | None, datetime | None]


async def electorate_with_sources(session: AsyncSession, vote_id: int) -> list[ElectorateRow]:
    """(member id, display name, source, seen at) of the vote's electorate, by member id."""
    rows = await session.execute(
        select(col(VoteElectorate.member_id), col(VoteElectorate.display_name), col(VoteElectorate.source),
               col(VoteElectorate.seen_at))
        .where(col(VoteElectorate.vote_id) == vote_id)
        .order_by(col(VoteElectorate.member_id))
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def electorate_of(session: AsyncSession, vote_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(col(VoteElectorate.member_id), col(VoteElectorate.display_name))
        .where(col(VoteElectorate.vote_id) == vote_id)
        .order_by(col(VoteElectorate.member_id))
    )
    return [(r[0], r[1]) for r in rows]


async def in_electorate(session: AsyncSession, vote_id: int, member_id: str) -> bool:
    rows = await session.execute(
        select(col(VoteElectorate.member_id))
        .where(col(VoteElectorate.vote_id) == vote_id, col(VoteElectorate.member_id) == member_id)
    )
    return rows.first() is not None


async def one_snapshot(session: AsyncSession) -> None:
    """Make the rest of this read transaction see the database as of one moment, however many queries
    it takes (a vote read a page at a time). Call it first in the transaction. SQLite's read
    transactions already do; PostgreSQL's default isolation gives each statement its own snapshot."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


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


async def ballots_of_many(session: AsyncSession, vote_ids: Iterable[int], *,
                          binding_only: bool = False) -> dict[int, list[BallotRow]]:
    """Current ballots as plain tuples (a vote can have thousands: rows, not ORM objects), in the order
    voters first voted; only the binding ones (at most the electorate) with ``binding_only``."""
    ids = sorted(set(vote_ids))
    found: dict[int, list[BallotRow]] = {i: [] for i in ids}
    if ids:
        query = select(*_BALLOT_COLUMNS).where(col(VoteBallot.vote_id).in_(ids))
        if binding_only:
            query = query.where(col(VoteBallot.binding) == true())
        rows = await session.execute(query.order_by(col(VoteBallot.vote_id), col(VoteBallot.id)))
        for row in rows:
            found[row[0]].append(tuple(row))  # type: ignore[arg-type]
    return found


async def ballot_page(session: AsyncSession, vote_id: int, after: int, limit: int) -> list[tuple[int, BallotRow]]:
    """(id, row) of up to ``limit`` current ballots after the ballot ``after`` (0: from the first), in
    the order voters first voted: a vote's ballots a page at a time, each page one short query."""
    rows = await session.execute(
        select(col(VoteBallot.id), *_BALLOT_COLUMNS)
        .where(col(VoteBallot.vote_id) == vote_id, col(VoteBallot.id) > after)
        .order_by(col(VoteBallot.id)).limit(limit)
    )
    return [(row[0], tuple(row[1:])) for row in rows]  # type: ignore[misc]


_TALLY_COLUMNS = {
    (True, "plus"): "tally_binding_plus", (True, "zero"): "tally_binding_zero",
    (True, "minus"): "tally_binding_minus", (False, "plus"): "tally_other_plus",
    (False, "zero"): "tally_other_zero", (False, "minus"): "tally_other_minus",
}
_ZERO_VALUES = ("0", "+0", "-0")


async def count_in_tally(session: AsyncSession, vote_id: int, changes: dict[tuple[bool, str], int],
                        **fields: Any) -> None:
    """Add to the vote's running tally: ``changes`` maps (binding, "plus"|"zero"|"minus") to +1 or -1;
    and set ``fields`` (the new head digest) in the same statement. The caller holds the vote's lock, in
    the transaction that writes the ballot."""
    values: dict[str, Any] = {_TALLY_COLUMNS[key]: getattr(Vote, _TALLY_COLUMNS[key]) + delta
                              for key, delta in changes.items() if delta}
    values.update(fields)
    if values:
        await session.execute(update(Vote).where(col(Vote.id) == vote_id).values(**values))


async def recount_tally(session: AsyncSession, vote_id: int) -> None:
    """Rebuild the vote's running tally from its ballots in one statement (the 0008 migration does the
    same for every vote): for ballots loaded in bulk rather than cast."""
    counts = {}
    for (binding, kind), column in _TALLY_COLUMNS.items():
        wanted = {"plus": ("+1",), "minus": ("-1",), "zero": _ZERO_VALUES}[kind]
        counts[column] = (
            select(func.count()).select_from(VoteBallot)
            .where(col(VoteBallot.vote_id) == vote_id, col(VoteBallot.binding) == binding,
                   col(VoteBallot.value).in_(wanted))
            .scalar_subquery()
        )
    await session.execute(update(Vote).where(col(Vote.id) == vote_id).values(**counts))


# Built once, like ``_CAST_TARGET``: every cast runs it.
# Two index searches joined, not one ``binding OR voter``: SQLite answers the OR by reading every ballot of
# the vote (EXPLAIN QUERY PLAN), a cost that grows with the ballots; each half here is one index search.
_ORDERED_BALLOT: tuple[Any, ...] = (*_BALLOT_COLUMNS, col(VoteBallot.id).label("ballot_id"))
_BINDING_BALLOTS_AND = union_all(
    select(*_ORDERED_BALLOT).where(col(VoteBallot.vote_id) == bindparam("vote_id"), col(VoteBallot.binding) == true()),
    select(*_ORDERED_BALLOT).where(col(VoteBallot.vote_id) == bindparam("vote_id"),
                                   col(VoteBallot.voter) == bindparam("voter"), col(VoteBallot.binding) == false()),
).order_by(literal_column("ballot_id"))


async def binding_ballots_and(session: AsyncSession, vote_id: int, voter: str) -> list[BallotRow]:
    """The vote's binding ballots (at most the electorate) and ``voter``'s ballot, binding or not, in
    the order voters first voted: all that a cast reads of the ballots, in one statement."""
    rows = await session.execute(_BINDING_BALLOTS_AND, {"vote_id": vote_id, "voter": voter})
    # Without the id the rows are ordered by.
    return [tuple(row)[:-1] for row in rows]


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
    await session.execute(insert(VoteEvent).values(**values))


EventRow = tuple[int, int, str, str, datetime, str, str]
_EVENT_COLUMNS = (col(VoteEvent.vote_id), col(VoteEvent.seq), col(VoteEvent.kind), col(VoteEvent.payload),
                  col(VoteEvent.created_at), col(VoteEvent.prev_hash), col(VoteEvent.hash))


async def last_event_row(session: AsyncSession, vote_id: int) -> EventRow | None:
    """``last_event`` as a plain row: the head the next event is chained to."""
    rows = await session.execute(
        select(*_EVENT_COLUMNS).where(col(VoteEvent.vote_id) == vote_id).order_by(col(VoteEvent.seq).desc()).limit(1)
    )
    row = rows.first()
    return None if row is None else tuple(row)  # type: ignore[return-value]


async def event_page(session: AsyncSession, vote_id: int, after: int, limit: int) -> list[EventRow]:
    """Up to ``limit`` of the vote's events after sequence number ``after`` (0: from the first)."""
    rows = await session.execute(
        select(*_EVENT_COLUMNS)
        .where(col(VoteEvent.vote_id) == vote_id, col(VoteEvent.seq) > after)
        .order_by(col(VoteEvent.seq)).limit(limit)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


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
