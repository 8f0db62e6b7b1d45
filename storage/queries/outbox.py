"""The outbox: idempotent writes, the exactly-once claim with a lease, and recording outcomes.

The claim is the one from ARCHITECTURE.md "Known traps": an UPDATE whose subquery picks due rows
``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite drops the clause but serialises writers with
``BEGIN IMMEDIATE``) and whose outer WHERE repeats the claimability test, so a row another
transaction claimed meanwhile is not claimed twice."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, literal_column, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from storage.models import OutboxMessage
from storage.queries.common import insert_ignoring_conflict

STATUSES = ("pending", "sent", "failed", "missed", "cancelled")


def _table() -> Table:
    return SQLModel.metadata.tables["outbox"]


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds until ``lease_until``."""

    id: int
    key: str
    workspace_id: str
    kind: str
    target: str
    payload: str
    fallback_channel: str | None
    due_at: datetime
    expires_at: datetime | None
    attempts: int  # including this one
    lease_until: datetime


async def insert_message(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert unless a row with the same key exists; True when inserted."""
    return await insert_ignoring_conflict(session, OutboxMessage, values, ["key"])


def _pending(table: Table) -> ColumnElement[bool]:
    """``status = 'pending'`` as a literal, so SQLite sees it implies the partial index ix_outbox_pending
    (a bound parameter would not)."""
    return table.c.status == literal_column("'pending'")


def _claimable(table: Table, now: datetime, workspace_id: str | None = None) -> ColumnElement[bool]:
    test = and_(
        _pending(table),
        table.c.next_attempt_at <= now,
        or_(table.c.claimed_by.is_(None), table.c.lease_until <= now),
    )
    return test if workspace_id is None else and_(test, table.c.workspace_id == workspace_id)


async def claim_due(
    session: AsyncSession, worker: str, now: datetime, lease: timedelta, limit: int, workspace_id: str | None = None
) -> list[Claimed]:
    """Claim due rows (of one workspace only when ``workspace_id`` is given: the console's rehearsal tick)."""
    table = _table()
    # A MATERIALIZED CTE, so the locking subquery runs exactly once. As a plain IN (subquery) PostgreSQL
    # may plan it as the inner side of a nested loop and run it again per outer row (seen: 100x slower
    # when the table's statistics said it was empty).
    chosen = (
        select(table.c.id)
        .where(_claimable(table, now, workspace_id))
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")
        .prefix_with("MATERIALIZED")
    )
    statement = (
        update(table)
        .where(table.c.id.in_(select(chosen.c.id)), _claimable(table, now, workspace_id))
        .values(claimed_by=worker, lease_until=now + lease, attempts=table.c.attempts + 1)
        .returning(table.c.id, table.c.key, table.c.workspace_id, table.c.kind, table.c.target, table.c.payload,
                   table.c.fallback_channel, table.c.due_at, table.c.expires_at, table.c.attempts,
                   table.c.lease_until)
    )
    rows = (await session.execute(statement)).all()
    claimed = [Claimed(*row) for row in rows]
    claimed.sort(key=lambda c: (c.due_at, c.id))
    return claimed


async def finish(session: AsyncSession, worker: str, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record outcomes of claimed rows and release the claims. Each outcome has ``row_id``, ``status``,
    ``sent_at``, ``last_error``, ``platform_ref`` and ``next_attempt_at``. Only rows still held by
    ``worker`` change, so a worker whose lease ran out cannot overwrite a newer claim. Outcomes that
    differ only by row (a batch sent at one instant without platform references) are written with one
    statement; the others with one executemany."""
    if not outcomes:
        return
    table = _table()
    groups: dict[tuple[Any, ...], list[int]] = {}
    singles: list[dict[str, Any]] = []
    for o in outcomes:
        if o.get("platform_ref") is None:
            shape = (o["status"], o.get("sent_at"), o.get("last_error"), o["next_attempt_at"])
            groups.setdefault(shape, []).append(o["row_id"])
        else:
            singles.append(o)
    for (status, sent_at, last_error, next_attempt_at), ids in groups.items():
        for start in range(0, len(ids), 500):
            await session.execute(
                update(table)
                .where(table.c.id.in_(ids[start:start + 500]), table.c.claimed_by == worker)
                .values(status=status, sent_at=sent_at, last_error=last_error, platform_ref=None,
                        next_attempt_at=next_attempt_at, claimed_by=None, lease_until=None)
            )
    if not singles:
        return
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.claimed_by == bindparam("worker"))
        .values(status=bindparam("b_status"), sent_at=bindparam("b_sent_at"),
                last_error=bindparam("b_last_error"), platform_ref=bindparam("b_platform_ref"),
                next_attempt_at=bindparam("b_next_attempt_at"), claimed_by=None, lease_until=None)
    )
    params = [
        {"row_id": o["row_id"], "worker": worker, "b_status": o["status"], "b_sent_at": o.get("sent_at"),
         "b_last_error": o.get("last_error"), "b_platform_ref": o.get("platform_ref"),
         "b_next_attempt_at": o["next_attempt_at"]}
        for o in singles
    ]
    await session.execute(statement, params)


async def renew_claims(session: AsyncSession, worker: str, ids: Sequence[int], now: datetime,
                       lease: timedelta) -> set[int]:
    """Extend ``worker``'s claims on those of ``ids`` it still holds (pending, claimed by it) to ``now +
    lease``; returns those. A row not returned was taken over by another worker once the lease ran out (or
    is no longer pending): this worker must not send it."""
    if not ids:
        return set()
    table = _table()
    result = await session.execute(
        update(table)
        .where(table.c.id.in_(list(ids)), table.c.claimed_by == worker, _pending(table))
        .values(lease_until=now + lease)
        .returning(table.c.id)
    )
    return {int(row[0]) for row in result}


async def release_claims(session: AsyncSession, worker: str, keep: frozenset[int] = frozenset()) -> int:
    """Give back ``worker``'s claims on rows still pending (claimed, not sent), but those in ``keep``:
    claimable again at once, and the attempt the claim counted is taken back. Returns how many."""
    table = _table()
    statement = update(table).where(_pending(table), table.c.claimed_by == worker)
    if keep:
        statement = statement.where(table.c.id.not_in(sorted(keep)))
    result = await session.execute(statement.values(claimed_by=None, lease_until=None, attempts=table.c.attempts - 1))
    return int(getattr(result, "rowcount", 0) or 0)


async def by_keys(session: AsyncSession, keys: Iterable[str]) -> dict[str, OutboxMessage]:
    wanted = sorted(set(keys))
    found: dict[str, OutboxMessage] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.execute(select(OutboxMessage).where(col(OutboxMessage.key).in_(wanted[start:start + 500])))
        found.update({row.key: row for row in rows.scalars()})
    return found


def prefix_range(prefix: str) -> tuple[str, str]:
    """``(low, high)`` with ``low <= key < high`` exactly for the keys that start with ``prefix``, in
    code point order: a range a btree index serves (``LIKE 'prefix%'`` is not served on SQLite, where LIKE
    ignores case, nor on PostgreSQL in a linguistic collation)."""
    stem = prefix
    while stem and stem[-1] == chr(0x10FFFF):
        stem = stem[:-1]
    if not stem:
        raise ValueError("a key prefix needs a character below U+10FFFF")
    return prefix, stem[:-1] + chr(ord(stem[-1]) + 1)


def _key_range(session: AsyncSession, prefix: str) -> ColumnElement[bool]:
    """The prefix as a key range. On PostgreSQL in byte order (``~>=~``/``~<~``, served by the
    ``text_pattern_ops`` index of migration 0010), whatever the database's collation; on SQLite the
    plain comparison is already in byte order (BINARY) and is served by the unique index on key."""
    low, high = prefix_range(prefix)
    key = _table().c.key
    if session.get_bind().dialect.name == "postgresql":
        return and_(key.op("~>=~", is_comparison=True)(low), key.op("~<~", is_comparison=True)(high))
    return and_(key >= low, key < high)


async def with_prefix(session: AsyncSession, prefix: str) -> list[OutboxMessage]:
    rows = await session.execute(
        select(OutboxMessage).where(_key_range(session, prefix)).order_by(col(OutboxMessage.id))
    )
    return list(rows.scalars())


async def keys_with_prefix(session: AsyncSession, prefix: str) -> set[str]:
    """Only the keys (no payloads): for planners that check what was already written on every tick."""
    rows = await session.execute(select(_table().c.key).where(_key_range(session, prefix)))
    return set(rows.scalars())


async def explain_prefix_lookup(session: AsyncSession, prefix: str) -> str:
    """The database's plan for ``keys_with_prefix`` (tests check that an index serves it)."""
    statement = select(_table().c.key).where(_key_range(session, prefix))
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = await session.execute(text(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + str(compiled)))
    return "\n".join(" ".join(str(v) for v in row) for row in rows.all())


async def prune_sent(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` sent rows sent before ``before`` whose message stopped being useful before
    it too (``expires_at``): no planner looks that far back, so none can write their key again. Rows
    without an expiry (vote results, redraws, minutes, whose keys guard against a second post for as
    long as the thing exists) and rows in any other state are kept. Returns how many were deleted."""
    table = _table()
    chosen = (
        select(table.c.id)
        .where(table.c.status == "sent", table.c.next_attempt_at < before, table.c.sent_at < before,
               table.c.expires_at < before)
        .order_by(table.c.next_attempt_at)
        .limit(limit)
    )
    ids = [row[0] for row in (await session.execute(chosen)).all()]
    if ids:
        await session.execute(delete(table).where(table.c.id.in_(ids), table.c.status == "sent"))
    return len(ids)


async def update_unclaimed(session: AsyncSession, row_id: int, values: dict[str, Any]) -> bool:
    """Change a pending row nobody holds (new text, new due time, cancelled); False if it was claimed
    or finished meanwhile, in which case it is left as it is."""
    table = _table()
    result = await session.execute(
        update(table)
        .where(table.c.id == row_id, table.c.status == "pending", table.c.claimed_by.is_(None))
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def update_unclaimed_key(session: AsyncSession, key: str, values: dict[str, Any]) -> bool:
    """``update_unclaimed`` of the row with ``key``, if there is one, in one statement."""
    table = _table()
    result = await session.execute(
        update(table).where(table.c.key == key, table.c.status == "pending", table.c.claimed_by.is_(None))
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def next_pending_at(session: AsyncSession) -> datetime | None:
    """The earliest instant at which a pending row becomes claimable (due, or its lease runs out)."""
    table = _table()
    unclaimed = await session.execute(
        select(func.min(table.c.next_attempt_at)).where(_pending(table), table.c.claimed_by.is_(None))
    )
    leased = await session.execute(
        select(func.min(table.c.lease_until)).where(_pending(table), table.c.claimed_by.is_not(None))
    )
    found = [v for v in (unclaimed.scalar_one_or_none(), leased.scalar_one_or_none()) if v is not None]
    return min(found) if found else None


async def due_backlog(session: AsyncSession, now: datetime) -> tuple[int, datetime | None]:
    """How many pending messages are due (waiting for a send or a retry), and the earliest due time among
    them. Reads only pending rows (the partial index), so its cost follows the backlog, not the history."""
    table = _table()
    row = (await session.execute(
        select(func.count(), func.min(table.c.due_at)).where(_pending(table), table.c.due_at <= now)
    )).one()
    return int(row[0]), row[1]


async def all_messages(session: AsyncSession) -> list[OutboxMessage]:
    rows = await session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id)))
    return list(rows.scalars())


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
    )
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


async def problems(session: AsyncSession, limit: int) -> list[OutboxMessage]:
    """The latest messages that were given up or missed, newest first."""
    rows = await session.execute(
        select(OutboxMessage).where(col(OutboxMessage.status).in_(("failed", "missed")))
        .order_by(col(OutboxMessage.id).desc()).limit(limit)
    )
    return list(rows.scalars())


async def revive_cancelled(session: AsyncSession, prefix: str, kind: str, now: datetime) -> int:
    """Make the cancelled ``kind`` rows under ``prefix`` that can still be useful (not expired) pending
    again, for the planner to refresh or cancel once more (a meeting restored after its reminders were
    cancelled). One statement, so no row object loaded earlier in the session goes stale."""
    table = _table()
    result = await session.execute(
        update(table)
        .where(_key_range(session, prefix), table.c.kind == kind, table.c.status == "cancelled",
               table.c.claimed_by.is_(None), or_(table.c.expires_at.is_(None), table.c.expires_at > now))
        .values(status="pending", last_error=None, next_attempt_at=table.c.due_at)
    )
    return int(getattr(result, "rowcount", 0) or 0)
