"""Auditing votes: the export of every vote with its hash-chained log, and ``quorum verify``, which
recomputes each vote's chain and compares the stored tables with it. Both read a vote a page at a time
in one snapshot, the event loop running others in between (docs/votes.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.rules.audit import ChainProblem, Steps, electorate_digest
from bot.rules.vote_log import LogCheck, StatedVote
from bot.rules.votes import Ballot, Tally, tally
from bot.services.votes import VoteView, event_of, iso, load_views, tally_dict, tally_of
from storage.db import AsyncSession, Database
from storage.queries import votes as q

# Rows (ballots, events) read and processed at a time when a whole vote is read (verify, export): between
# two pages the event loop serves others, so a vote of 100,000 ballots never holds it for long.
PAGE = 100


@dataclass(frozen=True)
class VerifyReport:
    votes: int
    events: int
    problem: ChainProblem | None


class VoteAudit:
    """``export()`` and ``verify()`` of every vote (``quorum export``, ``quorum verify``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def export(self, workspace_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            return await export_votes(session, workspace_ids)

    async def verify(self) -> VerifyReport:
        """Recompute every vote's chain and compare the tables with it; the first problem found. Each
        vote is read and checked a page at a time, the event loop running others in between, in one
        snapshot of the database (a cast meanwhile is not mistaken for tampering)."""
        async with self.db.read() as session:
            await q.one_snapshot(session)
            votes = await q.all_votes(session)
            count = 0
            for vote in votes:
                assert vote.id is not None
                electorate = await q.electorate_of(session, vote.id)
                ballots: list[tuple[str, str, bool]] = []
                counted = (Tally(), Tally())
                async for page in _ballot_pages(session, vote.id):
                    ballots.extend((row[1], row[3], bool(row[5])) for row in page)
                    counted = _add(counted, tally(_as_ballots(page)))
                # The log is checked as it is read, and not kept: a vote's 100,000 events held at once
                # would cost the loop long garbage-collector pauses.
                check = LogCheck(vote.id)
                async for rows in _event_pages(session, vote.id):
                    for row in rows:
                        check.add(event_of(row))
                    count += len(rows)
                stated = StatedVote(
                    id=vote.id, title=vote.title, rule=vote.rule, status=vote.status, outcome=vote.outcome,
                    electorate=tuple(m for m, _ in electorate), ballots=tuple(ballots),
                    head_digest=vote.head_digest,
                )
                problem = await _stepped(check.end_steps(stated, PAGE))
                if problem is None and vote.electorate_digest != electorate_digest(stated.electorate):
                    problem = ChainProblem(vote.id, None, f"vote #{vote.id}'s electorate digest does not match its "
                                           "electorate.")
                if problem is None and tally_of(vote) != counted:
                    problem = ChainProblem(vote.id, None, f"vote #{vote.id}'s running tally (binding "
                                           f"{tally_of(vote)[0].words()}) does not match its ballots (binding "
                                           f"{counted[0].words()}, non-binding {counted[1].words()}).")
                if problem is not None:
                    return VerifyReport(len(votes), count, problem)
        return VerifyReport(len(votes), count, None)


async def export_votes(session: AsyncSession, workspace_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The votes with SPEC §4's keys, plus their logs and head digests so an export can be verified.
    Read a page at a time in one snapshot, the event loop running others between pages."""
    await q.one_snapshot(session)
    votes = await q.all_votes(session, workspace_ids)
    views = await load_views(session, votes)
    return [await _export_entry(session, view) for view in views]


async def _ballot_pages(session: AsyncSession, vote_id: int) -> AsyncIterator[list[q.BallotRow]]:
    """The vote's current ballots, a page at a time; the loop runs others before each next page."""
    after = 0
    while page := await q.ballot_page(session, vote_id, after, PAGE):
        yield [row for _id, row in page]
        after = page[-1][0]
        await asyncio.sleep(0)


async def _event_pages(session: AsyncSession, vote_id: int) -> AsyncIterator[list[q.EventRow]]:
    after = 0
    while page := await q.event_page(session, vote_id, after, PAGE):
        yield page
        after = page[-1][1]
        await asyncio.sleep(0)


async def _stepped(steps: Steps[Any]) -> Any:
    """Run a ``*_steps`` generator of the rules, letting the event loop run between its steps."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
        await asyncio.sleep(0)


def _as_ballots(rows: Sequence[q.BallotRow]) -> list[Ballot]:
    return [Ballot(r[1], r[3], bool(r[5])) for r in rows]


def _add(a: tuple[Tally, Tally], b: tuple[Tally, Tally]) -> tuple[Tally, Tally]:
    return a[0] + b[0], a[1] + b[1]


async def _export_entry(session: AsyncSession, view: VoteView) -> dict[str, Any]:
    ballots: list[dict[str, Any]] = []
    counted = (Tally(), Tally())
    async for page in _ballot_pages(session, view.id):
        ballots.extend({"voter": r[1], "voter_name": r[2], "value": r[3], "binding": bool(r[5]),
                        "cast_at": iso(r[6]), "comment": r[4], "changes": r[7]} for r in page)
        counted = _add(counted, tally(_as_ballots(page)))
    events: list[dict[str, Any]] = []
    async for rows in _event_pages(session, view.id):
        events.extend({"seq": e.seq, "kind": e.kind, "at": e.at, "payload": dict(e.payload),
                       "prev_hash": e.prev_hash, "hash": e.hash} for e in (event_of(row) for row in rows))
    return {
        "id": view.id, "number": view.number, "title": view.title, "rule": view.rule, "status": view.status,
        "opened_at": iso(view.opened_at), "closes_at": iso(view.closes_at),
        "electorate": [m for m, _ in view.electorate],
        "tally": tally_dict(*counted),
        "outcome": view.outcome,
        "ballots": ballots,
        "workspace": view.workspace_id, "link": view.link, "binding_role": view.binding_role,
        "opened_by": view.opened_by, "closed_at": iso(view.closed_at) if view.closed_at else None,
        "closed_by": view.closed_by, "close_forced": view.close_forced, "short_forced": view.short_forced,
        "explanation": view.explanation,
        "electorate_names": {m: n for m, n in view.electorate},
        "electorate_digest": view.electorate_digest, "head_digest": view.head_digest,
        "events": events,
    }
