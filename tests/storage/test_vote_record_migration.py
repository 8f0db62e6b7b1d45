"""Migration 0014 and votes logged in event format 1 (before issue 17): the opened digest is backfilled
from the stored first event, no event is re-hashed, and such a vote still verifies, still has every
field its old log records checked, and can still be voted on and closed. On both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import col

from bot.app import build_services
from bot.clock import ManualClock
from bot.config import RoleConfig, Settings
from bot.rules.audit import Event, canonical, electorate_digest, next_event
from storage.db import Database
from storage.migrate import alembic_config, upgrade_sync
from storage.models import Vote, VoteBallot, VoteElectorate, VoteEvent
from storage.types import UTCDateTime
from tests.helpers import Members

ELECTORATE = [["console:alice", "alice"], ["console:bob", "bob"]]


def format_1_log() -> list[Event]:
    """A vote's log as the code before issue 17 wrote it: seconds in the payload's instants, no format key."""
    opened = next_event(None, 1, "open", "2022-03-01T12:00:00.250000Z", {
        "title": "Adopt", "link": None, "rule": "lazy-consensus", "binding_role": "PMC", "opened_by": "console:alice",
        "opened_by_name": "alice", "opened_at": "2022-03-01T12:00:00Z", "closes_at": "2022-03-04T12:00:00Z",
        "short_forced": False, "electorate": ELECTORATE,
        "electorate_digest": electorate_digest(["console:alice", "console:bob"])})
    ballot = next_event(opened, 1, "ballot", "2022-03-01T13:00:00.500000Z", {
        "voter": "console:bob", "voter_name": "bob", "value": "+1", "comment": "fine", "binding": True,
        "previous": None})
    return [opened, ballot]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _table(name: str, *columns: str) -> sa.TableClause:
    """The table as revision 0013 had it (only the columns given), instants typed as every table's are."""
    return sa.table(name, *(sa.column(c, UTCDateTime()) if c.endswith(("_at", "closes_at")) else sa.column(c)
                            for c in columns))


async def old_database(url: str) -> list[Event]:
    """The database at revision 0013 (the last before issue 17) holding one vote opened by the code before it."""
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0013")
    events = format_1_log()
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(sa.insert(_table("workspace", "id", "platform", "name", "created_at")).values(
                id="tvm", platform="console", name="", created_at=_at("2022-03-01 12:00")))
            await conn.execute(sa.insert(_table(
                "vote", "id", "workspace_id", "title", "rule", "binding_role", "opened_by", "opened_at", "closes_at",
                "short_forced", "status", "close_forced", "head_digest", "electorate_digest", "electorate_size",
                "tally_binding_plus")).values(
                id=1, workspace_id="tvm", title="Adopt", rule="lazy-consensus", binding_role="PMC",
                opened_by="console:alice", opened_at=_at("2022-03-01 12:00:00.250000"),
                closes_at=_at("2022-03-04 12:00:00.250000"), short_forced=False, status="open", close_forced=False,
                head_digest=events[-1].hash, electorate_digest=electorate_digest(["console:alice", "console:bob"]),
                electorate_size=2, tally_binding_plus=1))
            await conn.execute(sa.insert(_table("vote_electorate", "vote_id", "member_id", "display_name")),
                               [{"vote_id": 1, "member_id": m, "display_name": n} for m, n in ELECTORATE])
            await conn.execute(sa.insert(_table(
                "ballot", "vote_id", "voter", "voter_name", "value", "comment", "binding", "cast_at", "changes"
            )).values(vote_id=1, voter="console:bob", voter_name="bob", value="+1", comment="fine", binding=True,
                      cast_at=_at("2022-03-01 13:00:00.500000"), changes=0))
            await conn.execute(sa.insert(_table(
                "vote_event", "vote_id", "seq", "kind", "payload", "created_at", "prev_hash", "hash")), [
                {"vote_id": 1, "seq": e.seq, "kind": e.kind, "payload": canonical(dict(e.payload)).decode(),
                 "created_at": _at(created), "prev_hash": e.prev_hash, "hash": e.hash}
                for e, created in zip(events, ("2022-03-01 12:00:00.250000", "2022-03-01 13:00:00.500000"),
                                      strict=True)])
    finally:
        await db.dispose()
    return events


async def test_a_format_1_vote_verifies_after_the_migration_and_keeps_its_chain(database_url: str) -> None:
    try:
        events = await old_database(database_url)
    finally:
        # Back at the head whatever happened (PostgreSQL's test database is shared by the whole run).
        # Alembic runs its own event loop: in a thread of its own, as `quorum db upgrade` runs it.
        await asyncio.to_thread(upgrade_sync, database_url)
    db = Database(database_url)
    try:
        async with db.read() as session:
            assert (await session.execute(sa.select(col(Vote.opened_digest), col(Vote.head_digest),
                                                    col(Vote.opened_by_name), col(Vote.closed_by_name)))).all() == [
                (events[0].hash, events[1].hash, "alice", None)]
            in_order = sa.select(col(VoteEvent.hash)).order_by(col(VoteEvent.seq))
            hashes = (await session.execute(in_order)).scalars().all()
            assert hashes == [e.hash for e in events]  # nothing re-hashed
            sources = (await session.execute(sa.select(col(VoteElectorate.source), col(VoteElectorate.seen_at)))).all()
            assert set(sources) == {(None, None)}
        settings = Settings(roles={"PMC": RoleConfig("PMC", members=("console:alice", "console:bob"))})
        clock = ManualClock(datetime(2022, 3, 2, 12, 0, tzinfo=UTC))
        services = build_services(db, clock, settings)
        assert (await services.vote_audit.verify()).problem is None
        # What format 1 logged is checked: the deadline, a ballot's comment and time, the electorate.
        vote, ballot, member = Vote.__table__, VoteBallot.__table__, VoteElectorate.__table__  # type: ignore[attr-defined]
        for edit, undo, words in (
                (vote.update().values(closes_at=_at("2022-04-03 12:00:00.250000")),
                 vote.update().values(closes_at=_at("2022-03-04 12:00:00.250000")), "its closes_at is"),
                (ballot.update().values(comment="edited"), ballot.update().values(comment="fine"),
                 "ballot of console:bob: comment is 'edited'"),
                (ballot.update().values(cast_at=_at("2022-03-01 14:00:00.500000")),
                 ballot.update().values(cast_at=_at("2022-03-01 13:00:00.500000")), "ballot of console:bob: cast_at"),
                (member.update().values(source="config"), member.update().values(source=None),
                 "electorate member console:alice's source")):
            async with db.write() as session:
                await session.execute(edit)
            problem = (await services.vote_audit.verify()).problem
            assert problem is not None and words in problem.message, (words, problem)
            async with db.write() as session:
                await session.execute(undo)
        assert (await services.vote_audit.verify()).problem is None
        # The old vote goes on: a ballot and the close are logged as format 1 logs them.
        members = Members(settings)
        await services.votes.cast(members.chair("alice"), 1, "+1")
        clock.set(datetime(2022, 3, 4, 12, 1, tzinfo=UTC))
        assert await services.votes.close_due() == [1]
        assert (await services.vote_audit.verify()).problem is None
        closed = next(e for e in await services.vote_audit.export() if e["id"] == 1)
        assert closed["outcome"] == "passed" and "reason" not in closed["events"][-1]["payload"]
        assert closed["events"][-1]["payload"]["closed_at"] == "2022-03-04T12:00:00Z"
    finally:
        await db.dispose()
