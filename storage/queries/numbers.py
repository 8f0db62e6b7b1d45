"""Per-workspace numbers (``#3``): the next number of a kind of record in a workspace, and the record a
number names. Migration 0015; see ``storage.models.WorkspaceCounter``."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AgendaItem, Meeting, RotationSwap, Vote, WorkspaceCounter
from storage.queries.common import insert_ignoring_conflict

NumberedKind = Literal["meeting", "agendaitem", "vote", "rotationswap"]

_COUNTER = WorkspaceCounter.__table__  # type: ignore[attr-defined]
# One statement takes the next number: on PostgreSQL the UPDATE locks the counter row until the
# inserting transaction commits, so two inserts in one workspace never get the same number (and a
# rolled-back insert gives its number back); SQLite's writers already run one at a time.
_NEXT = (update(_COUNTER)
         .where(_COUNTER.c.workspace_id == bindparam("counter_workspace"), _COUNTER.c.kind == bindparam("counter_kind"))
         .values(last_number=_COUNTER.c.last_number + 1)
         .returning(_COUNTER.c.last_number))
_TABLES = {"meeting": Meeting, "agendaitem": AgendaItem, "vote": Vote, "rotationswap": RotationSwap}


async def next_number(session: AsyncSession, workspace_id: str, kind: NumberedKind) -> int:
    """The number for a record about to be inserted in this transaction."""
    await insert_ignoring_conflict(session, WorkspaceCounter,
                                   {"workspace_id": workspace_id, "kind": kind, "last_number": 0},
                                   ["workspace_id", "kind"])
    return int((await session.execute(_NEXT, {"counter_workspace": workspace_id, "counter_kind": kind})).scalar_one())


async def id_of_number(session: AsyncSession, workspace_id: str, kind: NumberedKind, number: int) -> int | None:
    """The stable id of the record a member named ``#number`` in their workspace, or None."""
    table = _TABLES[kind].__table__  # type: ignore[attr-defined]
    found = await session.execute(select(table.c.id).where(table.c.workspace_id == workspace_id,
                                                           table.c.number == number))
    value = found.scalar_one_or_none()
    return int(value) if value is not None else None
