"""Auditing votes: the export of every vote with its hash-chained log, ``quorum verify``, which
recomputes each vote's chain and compares every stored field with it, and the digests people keep of a
vote (``vote_digests``, ``digests_of``). Both read a vote a page at a time
in one snapshot, the event loop running others in between (docs/votes.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.rules.audit import ChainProblem, Steps, run_steps
from bot.rules.vote_log import (
    HeldDigest,
    LogCheck,
    StatedBallot,
    StatedMember,
    StatedVote,
    check_held_digests,
    stated_from_export,
)
from bot.rules.votes import Ballot, Tally, tally
from bot.services.votes import VoteView, event_of, event_time, iso, load_views, tally_dict, tally_of
from storage.db import AsyncSession, Database
from storage.models import Vote
from storage.queries import votes as q

# Rows (ballots, events) read and processed at a time when a whole vote is read (verify, export): between
# two pages the event loop serves others, so a vote of 100,000 ballots never holds it for long.
PAGE = 100


@dataclass(frozen=True)
class VerifyReport:
    votes: int
    events: int
    problem: ChainProblem | None


@dataclass(frozen=True)
class VoteDigests:
    """The digests people keep of a vote: ``opened`` (the hash of its opening event, which covers the
    title, link, rule, deadline and electorate) shown in the vote message, and ``final`` (its log's head
    once closed, None while open) shown in the result. ``quorum verify --digest <vote>=<hex>`` checks a
    database or an export against either."""

    opened: str | None
    final: str | None


def digests_of(view: VoteView) -> VoteDigests:
    """The digests of a vote in hand (a close hook's view, a command's answer)."""
    return VoteDigests(view.opened_digest, None if view.is_open else view.head_digest)


async def vote_digests(session: AsyncSession, vote_id: int) -> VoteDigests | None:
    """The opened and final digests of a vote as stored (None: no such vote), read in the caller's
    transaction: for posting them where people keep them (the channel, a forum topic)."""
    vote = await q.get_vote(session, vote_id)
    if vote is None:
        return None
    return VoteDigests(vote.opened_digest, vote.head_digest if vote.status == "closed" else None)


def _time(instant: datetime | None) -> str | None:
    return None if instant is None else event_time(instant)


def stated_fields(vote: Vote) -> dict[str, Any]:
    """Every column of the vote row, under the vote field it states (bot/rules/vote_log.py VOTE_FIELDS)."""
    binding, other = tally_of(vote)
    return {
        "workspace": vote.workspace_id, "number": vote.number,
        "title": vote.title, "link": vote.link, "rule": vote.rule,
        "binding_role": vote.binding_role, "opened_by": vote.opened_by, "opened_by_name": vote.opened_by_name,
        "opened_at": _time(vote.opened_at),
        "closes_at": _time(vote.closes_at), "short_forced": bool(vote.short_forced), "channel_id": vote.channel_id,
        "electorate_digest": vote.electorate_digest, "electorate_size": vote.electorate_size,
        "opened_digest": vote.opened_digest, "status": vote.status, "closed_at": _time(vote.closed_at),
        "closed_by": vote.closed_by, "closed_by_name": vote.closed_by_name, "close_forced": bool(vote.close_forced),
        "tally": {"binding": binding.as_dict(), "non_binding": other.as_dict()}, "outcome": vote.outcome,
        "explanation": vote.explanation, "head_digest": vote.head_digest,
    }


class VoteAudit:
    """``export()`` and ``verify()`` of every vote (``quorum export``, ``quorum verify``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def export(self, workspace_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as session:
            return await export_votes(session, workspace_ids)

    async def digests(self, vote_id: int) -> VoteDigests | None:
        """``vote_digests`` in a transaction of its own."""
        async with self.db.read() as session:
            return await vote_digests(session, vote_id)

    async def verify(self, held: Sequence[HeldDigest] = ()) -> VerifyReport:
        """Replay every vote's log and compare every stored field with it; then the ``held`` digests
        with the opened and final digests of the votes. The first problem found. Each vote is read and
        checked a page at a time, the event loop running others in between, in one snapshot of the
        database (a cast meanwhile is not mistaken for tampering)."""
        known: dict[str, int] = {}
        async with self.db.read() as session:
            await q.one_snapshot(session)
            votes = await q.all_votes(session)
            count = 0
            for vote in votes:
                assert vote.id is not None
                electorate = tuple(StatedMember(m, n, source, _time(seen))
                                   for m, n, source, seen in await q.electorate_with_sources(session, vote.id))
                ballots: list[StatedBallot] = []
                async for page in _ballot_pages(session, vote.id):
                    ballots.extend(StatedBallot(r[1], r[2], r[3], r[4], bool(r[5]), event_time(r[6]), r[7])
                                   for r in page)
                # The log is checked as it is read, and not kept: a vote's 100,000 events held at once
                # would cost the loop long garbage-collector pauses.
                check = LogCheck(vote.id)
                async for rows in _event_pages(session, vote.id):
                    for row in rows:
                        check.add(event_of(row))
                    count += len(rows)
                stated = StatedVote(id=vote.id, fields=stated_fields(vote), electorate=electorate, ballots=ballots)
                problem = await _stepped(check.end_steps(stated, PAGE))
                if problem is not None:
                    return VerifyReport(len(votes), count, problem)
                known.update(_digests_known(check, vote.id))
        return VerifyReport(len(votes), count, check_held_digests(held, known))


def _digests_known(check: LogCheck, vote_id: int) -> dict[str, int]:
    """The digests a verified vote answers to: its opened digest, and its final one once closed."""
    known = {check.first_hash: vote_id} if check.first_hash else {}
    if check.closed is not None:
        known[check.chain.prev_hash] = vote_id
    return known


def verify_export(votes: Sequence[Any], held: Sequence[HeldDigest] = ()) -> tuple[int, ChainProblem | None]:
    """``quorum verify --file``: every vote entry of a JSON export checked against its own log, then the
    held digests against the verified votes. (events counted, the first problem)."""
    known: dict[str, int] = {}
    events = 0
    for entry in votes:
        try:
            stated = stated_from_export(entry)
        except ValueError as exc:
            vote_id = entry.get("id") if isinstance(entry, dict) else None
            return events, ChainProblem(vote_id if isinstance(vote_id, int) else 0, None, str(exc))
        events += len(stated.events)
        check = LogCheck(stated.id)
        for event in stated.events:
            check.add(event)
        problem = run_steps(check.end_steps(stated))
        if problem is not None:
            return events, problem
        known.update(_digests_known(check, stated.id))
    return events, check_held_digests(held, known)


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
    electorate = await q.electorate_with_sources(session, view.id)
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
        "opened_by_name": view.opened_by_name, "closed_by_name": view.closed_by_name,
        "explanation": view.explanation,
        "electorate_names": {m: n for m, n, _source, _seen in electorate},
        # Where each member's binding status came from: "listing", "config" or "seen" (at seen_at);
        # None for a vote opened before sources were recorded (docs/votes.md).
        "electorate_sources": {m: {"source": source, "seen_at": iso(seen) if seen else None}
                               for m, _n, source, seen in electorate},
        "electorate_size": len(electorate), "channel_id": view.channel_id,
        "electorate_digest": view.electorate_digest, "opened_digest": view.opened_digest,
        "head_digest": view.head_digest,
        "events": events,
    }
