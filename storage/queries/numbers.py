"""Per-workspace numbers (``#3``): the next number of a kind of record in a workspace, and the record a
number names. Migration 0015; see ``storage.models.WorkspaceCounter``."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AgendaItem, Meeting, RotationSwap, Vote, WorkspaceCounter
from storage.queries.common import dialect_of

NumberedKind = Literal["meeting", "agendaitem", "vote", "rotationswap"]

_COUNTER = WorkspaceCounter.__table__  # type: ignore[attr-defined]


def _next_statement(builder: Any) -> Any:
    """One statement takes the next number, creating the counter row on a workspace's first record of the
    kind ("the constraint decides", as in storage/queries/common.py): on PostgreSQL the upsert locks the
    counter row until the inserting transaction commits, so two inserts in one workspace never get the same
    number (and a rolled-back insert gives its number back); SQLite's writers already run one at a time.
    Built once per dialect, with bind parameters: building it costs more than running it."""
    insert = builder(_COUNTER).values(workspace_id=bindparam("counter_workspace"), kind=bindparam("counter_kind"),
                                      last_number=1)
    return insert.on_conflict_do_update(
        index_elements=[_COUNTER.c.workspace_id, _COUNTER.c.kind],
        set_={"last_number": _COUNTER.c.last_number + 1},
    ).returning(_COUNTER.c.last_number)


_NEXT = {"postgresql": _next_statement(postgresql.insert), "sqlite": _next_statement(sqlite.insert)}
# The id of the record a number names, per kind: one statement each, built once.
_TABLES = {"meeting": Meeting, "agendaitem": AgendaItem, "vote": Vote, "rotationswap": RotationSwap}
_ID_OF_NUMBER = {
    kind: select(table.c.id).where(table.c.workspace_id == bindparam("workspace"),
                                   table.c.number == bindparam("number"))
    for kind, table in ((kind, model.__table__) for kind, model in _TABLES.items())  # type: ignore[attr-defined]
}


async def next_number(session: AsyncSession, workspace_id: str, kind: NumberedKind) -> int:
    """The number for a record about to be inserted in this transaction."""
    params = {"counter_workspace": workspace_id, "counter_kind": kind}
    return int((await session.execute(_NEXT[dialect_of(session)], params)).scalar_one())


async def id_of_number(session: AsyncSession, workspace_id: str, kind: NumberedKind, number: int) -> int | None:
    """The stable id of the record a member named ``#number`` in their workspace, or None."""
    found = await session.execute(_ID_OF_NUMBER[kind], {"workspace": workspace_id, "number": number})
    value = found.scalar_one_or_none()
    return int(value) if value is not None else None
