"""Vote use cases: open (with the electorate snapshot), cast, status, list, close, closing at the
deadline, the export of votes and the verification of their logs.

Every change to a vote locks the vote row first and appends one hash-chained event in the same
transaction as the change itself, so the log and the tables can never disagree by accident."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor, platform_of
from bot.contracts.outbound import RoleDirectory
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.rules.audit import GENESIS, Event, canonical, electorate_digest, next_event
from bot.rules.links import validate_link, validate_title
from bot.rules.parsing import format_duration
from bot.rules.time import format_home
from bot.rules.vote_log import EVENT_FORMAT
from bot.rules.votes import (
    DEFAULT_RULE,
    RULES,
    Decision,
    RuleId,
    Tally,
    counted_as,
    decide_tally,
    parse_rule,
    parse_value,
)
from bot.services.members import MemberService
from storage.db import AsyncSession, Database
from storage.models import Vote
from storage.queries import members as members_q
from storage.queries import numbers as numbers_q
from storage.queries import votes as q

DEFAULT_DURATION = timedelta(hours=72)  # the Apache minimum
MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(days=30)
MAX_COMMENT_LENGTH = 1000
ELECTORATES_KEPT = 64  # open votes whose electorate a process keeps for its casts (a few hundred names each)


# Called in the transaction that closes a vote, after the vote row says closed: (session, vote id,
# the channel the closing command answered in ("" when it has none, as on the console), or None when no
# command answered with the result: the close at the deadline, or the lazy close before a command).
CloseHook = Callable[[AsyncSession, "VoteView", str | None], Awaitable[None]]
# Called in the transaction that records a new or changed ballot: (session, vote id, voter).
CastHook = Callable[[AsyncSession, int, str], Awaitable[None]]


def event_time(instant: datetime) -> str:
    """The form an instant takes inside the hashed log: UTC with microseconds, so it survives a round
    trip through either database unchanged."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Where an electorate member's binding status came from (vote_electorate.source, the opening event).
SOURCE_LISTING = "listing"  # the platform's own listing of the role's holders, at opening
SOURCE_CONFIG = "config"  # [roles.<role>] members in the config
SOURCE_SEEN = "seen"  # the platform reported the role when the member last acted, at seen_at


class ElectorateMember(NamedTuple):
    member_id: str
    display_name: str
    source: str | None  # None: a vote opened before sources were recorded
    seen_at: datetime | None


class BallotView(NamedTuple):  # a tuple: a large vote has tens of thousands
    voter: str
    voter_name: str
    value: str
    comment: str | None
    binding: bool
    cast_at: datetime
    changes: int


@dataclass(frozen=True)
class VoteView:
    id: int
    workspace_id: str
    title: str
    link: str | None
    rule: str
    binding_role: str
    opened_by: str
    opened_by_name: str
    opened_at: datetime
    closes_at: datetime
    short_forced: bool
    channel_id: str | None
    status: str
    closed_at: datetime | None
    closed_by: str | None
    closed_by_name: str | None
    close_forced: bool
    outcome: str | None
    explanation: str | None
    head_digest: str
    opened_digest: str | None  # the hash of the opening event (None only for a vote with no log)
    electorate_digest: str
    electorate: tuple[tuple[str, str], ...]  # (member id, display name), sorted by id
    # Current ballots, in the order members first voted. ``status`` loads every one; the views a command
    # answers with (``summary``, cast, close, list) only the binding ones: at most the electorate, and
    # all that a vote's message shows (a vote can have 100,000 non-binding ballots).
    ballots: tuple[BallotView, ...]
    tally: tuple[Tally, Tally]  # (binding, non-binding): the vote's running tally, over every ballot
    # The number members type (#3), per workspace (migration 0015); ``id`` is the stable id in exports.
    number: int = 0

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def duration(self) -> timedelta:
        return self.closes_at - self.opened_at

    def decision(self) -> Decision:
        """The outcome if the vote closed now (for a closed vote: its recorded outcome's reasoning)."""
        return self._decision

    @cached_property
    def _decision(self) -> Decision:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
        return decide_tally(self.rule, self.tally[0], self.tally[1], len(self.electorate))

    def not_voted(self) -> list[tuple[str, str]]:
        # Members of the electorate cast binding ballots only, so the binding ones are enough here.
        voted = {b.voter for b in self.ballots if b.binding}
        return [(m, n) for m, n in self.electorate if m not in voted]


class _Numbered(NamedTuple):
    """A vote named by the per-workspace number a member typed (``#3``), not by its stable id."""

    number: int


@dataclass(frozen=True)
class CastResult:
    vote: VoteView
    ballot: BallotView
    change: str  # "new" | "changed" | "unchanged"
    previous: str | None


def _member_of_workspace(member_id: str, workspace_id: str) -> bool:
    """Config role lists name members of every platform; only this workspace's count in its votes."""
    platform = platform_of(workspace_id)
    if platform == "slack":
        return member_id.startswith(workspace_id + ":")
    return member_id.startswith(platform + ":")


def _name(member_id: str) -> str:
    return member_id.split(":")[-1]


class VoteService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, members: MemberService,
                 role_directories: Mapping[str, RoleDirectory]) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.members = members
        # The same dict Services exposes; app.py fills it with the adapters that are on.
        self.role_directories = role_directories
        # Filled by build_services (bot/app.py): the outbox side of votes (bot/services/vote_notices.py)
        # posts the result and cancels reminders in the same transaction as the close or the ballot.
        self.close_hooks: list[CloseHook] = []
        self.cast_hooks: list[CastHook] = []
        # The forum's [VOTE] topic (bot/services/forum.py), written in the opening's transaction.
        self.open_hooks: list[Callable[[AsyncSession, VoteView], Awaitable[None]]] = []
        # Electorates of the votes cast on lately. A snapshot is written once, with the vote, and never
        # changed, so a cast need not read its rows again (a few hundred, the costliest read of a cast).
        self._electorates: dict[tuple[int, str, datetime], tuple[tuple[str, str], ...]] = {}

    # -- open -------------------------------------------------------------------------------
    async def open(
        self,
        actor: Actor,
        title: str,
        *,
        link: str | None = None,
        rule: RuleId = DEFAULT_RULE,
        duration: timedelta | None = None,
        role: str | None = None,
        force: bool = False,
    ) -> VoteView:
        _require_chair(actor, "open a vote", self.settings.chair_roles)
        title = validate_title(title)
        link = validate_link(link) if link else None
        rule = parse_rule(rule)
        duration = DEFAULT_DURATION if duration is None else duration
        if duration <= timedelta():
            raise InvalidInput("duration= must be positive: a vote stays open for 72h by default.")
        if duration > MAX_DURATION:
            raise InvalidInput(f"duration={format_duration(duration)} is too long: a vote may stay open at most "
                               f"{format_duration(MAX_DURATION)}.")
        if duration < MIN_DURATION:
            raise InvalidInput(f"duration={format_duration(duration)} is too short: a vote stays open at least "
                               f"{format_duration(MIN_DURATION)}.")
        short = duration < DEFAULT_DURATION
        if short and not force:
            raise InvalidInput(
                f"duration={format_duration(duration)} is shorter than the 72h minimum: give force=yes to open a "
                "short vote (the result will say so), or leave duration= out."
            )
        role = role or self.settings.binding_role
        if role not in self.settings.roles:
            raise InvalidInput(f"There is no role '{role}': roles are declared in the config "
                               f"({', '.join(sorted(self.settings.roles))}).")
        electorate = await self._snapshot(actor, role)
        if not electorate:
            raise Conflict(f"Nobody holds the role {role}, so no vote would be binding: list members under "
                           f"[roles.{role}] in the config, or have the platform grant the role, then open it.")
        now = self.clock.now()
        digest = electorate_digest(m.member_id for m in electorate)
        async with self.db.write() as session:
            await members_q.ensure_workspace(session, actor.workspace_id, actor.platform, now)
            vote = await q.insert_vote(session, {
                "workspace_id": actor.workspace_id, "title": title, "link": link, "rule": rule,
                "binding_role": role, "opened_by": actor.member_id, "opened_by_name": actor.display_name,
                "opened_at": now,
                "closes_at": now + duration, "short_forced": short, "channel_id": actor.channel_id,
                "status": "open", "head_digest": GENESIS, "electorate_digest": digest,
                "electorate_size": len(electorate),
            })
            assert vote.id is not None
            await q.insert_electorate(session, vote.id, electorate)
            # Format 2 (bot/rules/vote_log.py): everything that decides or shows the vote, exact instants.
            event = await self._append(session, vote.id, "open", now, {
                "format": EVENT_FORMAT, "workspace": actor.workspace_id, "number": vote.number, "title": title,
                "link": link,
                "rule": rule, "binding_role": role, "opened_by": actor.member_id,
                "opened_by_name": actor.display_name, "opened_at": event_time(now),
                "closes_at": event_time(now + duration), "short_forced": short, "channel_id": actor.channel_id,
                "electorate": [[m.member_id, m.display_name, m.source,
                                event_time(m.seen_at) if m.seen_at else None] for m in electorate],
                "electorate_digest": digest,
            })
            await q.update_vote(session, vote.id, head_digest=event.hash, opened_digest=event.hash)
            view = await self._view(session, vote.id)
            for open_hook in self.open_hooks:
                await open_hook(session, view)
            return view

    async def _snapshot(self, actor: Actor, role: str) -> list[ElectorateMember]:
        """Who holds ``role`` now, and how we know: the platform's own listing where it can give one
        (recorded, so later snapshots know it too), the config's members, and, only where the platform
        cannot list the role, what it reported when members acted, if recent (Settings.role_evidence).
        A fresh listing is the platform's word for now: older sightings it contradicts do not count."""
        workspace = actor.workspace_id
        listing: dict[str, str] | None = None
        directory = self.role_directories.get(platform_of(workspace))
        if directory is not None:
            found = await directory.holders(workspace, role)
            if found is not None:
                listing = dict(found)
                await self.members.record_role_listing(workspace, role, sorted(listing), listing)
        # A member both listed in the config and by the platform is named by the config, the record
        # anyone can read (Slack's listing also returns the config's members: bot/adapters/slack/identity.py).
        sources: dict[str, tuple[str, datetime | None]] = {}
        for member in self.settings.role_members(role):
            sources[member] = (SOURCE_CONFIG, None)
        for member in listing or {}:
            sources.setdefault(member, (SOURCE_LISTING, None))
        if listing is None:
            for member, seen in sorted((await self.members.role_evidence(workspace, role)).items()):
                sources.setdefault(member, (SOURCE_SEEN, seen))
        holders = {m for m in sources if _member_of_workspace(m, workspace)}
        async with self.db.read() as session:
            names = await members_q.display_names(session, workspace, holders)
        names.update(listing or {})
        unnamed = sorted(m for m in holders if m not in names)
        if unnamed and directory is not None:
            # Listed in the config but never seen: ask the platform, so the electorate (and the result,
            # which shows who did not vote) names them rather than showing a raw id. Recorded for later.
            found = await directory.names(workspace, unnamed)
            if found:
                await self.members.record_names(workspace, found)
                names.update(found)
        return [ElectorateMember(m, names.get(m) or _name(m), *sources[m]) for m in sorted(holders)]

    # -- cast -------------------------------------------------------------------------------
    async def cast(self, actor: Actor, vote_id: int, value: str, comment: str | None = None) -> CastResult:
        return await self._cast_checked(actor, vote_id, value, comment)

    async def cast_numbered(self, actor: Actor, number: int, value: str, comment: str | None = None) -> CastResult:
        """``cast`` on the vote the member named ``#number`` in their workspace. The number is looked up by
        the cast's own first statement: no read transaction of its own before the write (a burst of clicks
        queues on the write lock, and each extra transaction lengthened the queue)."""
        return await self._cast_checked(actor, _Numbered(number), value, comment)

    async def _cast_checked(self, actor: Actor, ref: int | _Numbered, value: str, comment: str | None) -> CastResult:
        value = parse_value(value)
        comment = " ".join(comment.split()) if comment else None
        if comment and len(comment) > MAX_COMMENT_LENGTH:
            raise InvalidInput(f"The comment is {len(comment)} characters long: keep it to {MAX_COMMENT_LENGTH} "
                               "and link to the details.")
        # Like every command, a cast first closes the votes past their deadline; the cast's own first
        # statement says whether there are any, so the usual case costs no transaction of its own.
        result = await self._cast(actor, ref, value, comment, self.clock.now(), first=True)
        if result is None:
            await self.close_due()
            result = await self._cast(actor, ref, value, comment, self.clock.now(), first=False)
            assert result is not None
        return result

    async def _cast(self, actor: Actor, ref: int | _Numbered, value: str, comment: str | None, now: datetime, *,
                    first: bool) -> CastResult | None:
        """One cast in one write transaction, answered from what it read and wrote (the reply is built
        from the rows in hand, nothing is read back). None, having written nothing, when it is ``first``
        and some vote is due to close."""
        async with self.db.write() as session:
            if isinstance(ref, _Numbered):
                target = await q.lock_numbered_vote_for_cast(session, actor.workspace_id, ref.number, now)
            else:
                target = await q.lock_vote_for_cast(session, ref, now)
            if target is not None and target.any_due and first:
                return None
            if target is None or target.vote.workspace_id != actor.workspace_id:
                raise _not_found(ref.number if isinstance(ref, _Numbered) else ref)
            vote = target.vote
            tally_before = tally_of(vote)  # the ORM update below may refresh the object's own counts
            self._require_open(vote, now)
            assert vote.id is not None
            if RULES[vote.rule].vetoes and value == "-1" and not comment:
                raise InvalidInput(
                    f"Under consensus a -1 is a veto and needs a reason: add it in quotes, for example "
                    f"/vote cast #{vote.number} -1 \"it breaks the public API\"."
                )
            electorate = await self._electorate(session, vote)
            # The snapshot decides; roles held now do not.
            binding = any(m == actor.member_id for m, _ in electorate)
            rows = [_ballot_of_row(r) for r in await q.binding_ballots_and(session, vote.id, actor.member_id)]
            existing = next((b for b in rows if b.voter == actor.member_id), None)
            shown = [b for b in rows if b.binding]  # what the view holds: the binding ballots
            opener = vote.opened_by_name or target.opener_name or _name(vote.opened_by)
            previous = existing.value if existing else None
            if existing is not None and existing.value == value and existing.comment == comment:
                # A repeated click or a retried request: nothing new to record.
                view = _view_of(vote, electorate, tuple(shown), opener, None, tally_before)
                return CastResult(view, existing, "unchanged", previous)
            kind = "change" if existing is not None else "ballot"
            event = await self._append(session, vote.id, kind, now, {
                "voter": actor.member_id, "voter_name": actor.display_name, "value": value, "comment": comment,
                "binding": binding, "previous": previous,
            })
            await q.upsert_ballot(session, {
                "vote_id": vote.id, "voter": actor.member_id, "voter_name": actor.display_name, "value": value,
                "comment": comment, "binding": binding, "cast_at": now, "changes": 0,
            })
            counts = {(binding, counted_as(value)): 1}
            if existing is not None:
                old = (existing.binding, counted_as(existing.value))
                counts[old] = counts.get(old, 0) - 1
            await q.count_in_tally(session, vote.id, counts, head_digest=event.hash)
            for cast_hook in self.cast_hooks:
                await cast_hook(session, vote.id, actor.member_id)
        # What the upsert stored: the same row, one more change, when the member had voted.
        ballot = BallotView(actor.member_id, actor.display_name, value, comment, binding, now,
                            existing.changes + 1 if existing is not None else 0)
        if binding:
            shown = [ballot if b.voter == actor.member_id else b for b in shown]
            if existing is None:  # a new ballot comes last: the vote's lock orders its ballots' ids
                shown.append(ballot)
        view = _view_of(vote, electorate, tuple(shown), opener, None, _added(tally_before, counts),
                        head_digest=event.hash)
        return CastResult(view, ballot, "changed" if existing else "new", previous)

    async def _electorate(self, session: AsyncSession, vote: Vote) -> tuple[tuple[str, str], ...]:
        """The vote's electorate snapshot, read once per vote by this process. Keyed by what identifies the
        vote beyond its id, so a database recreated under a running service never answers another's."""
        assert vote.id is not None
        key = (vote.id, vote.electorate_digest, vote.opened_at)
        electorate = self._electorates.get(key)
        if electorate is None:
            electorate = tuple(await q.electorate_of(session, vote.id))
            if len(self._electorates) >= ELECTORATES_KEPT:
                del self._electorates[next(iter(self._electorates))]  # the one cached first
            self._electorates[key] = electorate
        return electorate

    # -- read -------------------------------------------------------------------------------
    async def status(self, workspace_id: str, vote_id: int) -> VoteView:
        """The vote with every current ballot, binding or not: its cost grows with the ballots, so
        commands answer with ``summary``."""
        await self.close_due()
        async with self.db.read() as session:
            vote = await q.get_vote(session, vote_id)
            if vote is None or vote.workspace_id != workspace_id:
                raise _not_found(vote_id)
            return await self._view(session, vote_id, every_ballot=True)

    async def summary(self, workspace_id: str, vote_id: int) -> VoteView:
        """The vote as its message shows it: the electorate, the binding ballots and the running tally,
        whatever the number of non-binding ballots (``VoteView.ballots`` holds the binding ones)."""
        await self.close_due()
        async with self.db.read() as session:
            vote = await q.get_vote(session, vote_id)
            if vote is None or vote.workspace_id != workspace_id:
                raise _not_found(vote_id)
            return await self._view(session, vote_id)

    async def electorate(self, workspace_id: str, vote_id: int) -> tuple[VoteView, list[ElectorateMember]]:
        """The vote and its electorate snapshot, each member with where their binding status came from."""
        async with self.db.read() as session:
            vote = await q.get_vote(session, vote_id)
            if vote is None or vote.workspace_id != workspace_id:
                raise _not_found(vote_id)
            members = [ElectorateMember(*row) for row in await q.electorate_with_sources(session, vote_id)]
            return await self._view(session, vote_id), members

    async def remember_message(self, workspace_id: str, vote_id: int, message_ref: str) -> bool:
        """Record a platform message showing the open vote, so that its close redraws it as the result
        (``VoteNotices.on_close``). False, recording nothing, when the vote is not an open vote of the
        workspace. The vote's lock orders this against its close."""
        async with self.db.write() as session:
            vote = await q.lock_vote(session, vote_id)
            if vote is None or vote.workspace_id != workspace_id or vote.status != "open":
                return False
            await q.add_message(session, vote_id, message_ref, self.clock.now())
            return True

    async def id_of(self, workspace_id: str, number: int) -> int:
        """The stable id of the vote a member named ``#number`` in their workspace; NotFound otherwise."""
        async with self.db.read() as session:
            return await vote_id_of(session, workspace_id, number)

    async def list_votes(self, workspace_id: str, status: str | None = None) -> list[VoteView]:
        await self.close_due()
        async with self.db.read() as session:
            votes = await q.votes_of_workspace(session, workspace_id, status)
            return await load_views(session, votes)

    # -- close ------------------------------------------------------------------------------
    async def close(self, actor: Actor, vote_id: int, force: bool = False) -> VoteView:
        _require_chair(actor, "close a vote", self.settings.chair_roles)
        await self.close_due()
        now = self.clock.now()
        async with self.db.write() as session:
            vote = await self._locked(session, actor.workspace_id, vote_id)
            assert vote.id is not None
            if vote.status != "open":
                raise Conflict(f"Vote #{vote.number} is already closed ({_closed_words(vote, self._zone)}): "
                               f"/vote status #{vote.number} shows its result.")
            if now >= vote.closes_at:  # its deadline passed a moment ago: close it as of the deadline
                return await self._close_locked(session, vote, vote.closes_at, None, False, now,
                                                answered_in=actor.channel_id or "")
            electorate = await q.electorate_of(session, vote.id)
            binding = (await q.ballots_of_many(session, [vote.id], binding_only=True))[vote.id]
            voted = {row[1] for row in binding}
            missing = [n for m, n in electorate if m not in voted]
            if missing and not force:
                shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
                raise Conflict(
                    f"Vote #{vote.number} is open until {format_home(vote.closes_at, self._zone)} and "
                    f"{len(missing)} of "
                    f"{len(electorate)} binding voters have not voted ({shown}): wait for the deadline, or close "
                    "it now with force=yes (the result will say so)."
                )
            return await self._close_locked(session, vote, now, actor.member_id, bool(missing), now,
                                            answered_in=actor.channel_id or "")

    async def close_due(self) -> list[int]:
        """Close every open vote whose deadline has passed, as of its deadline (not as of now), one
        transaction per vote; the close hooks post each result. Safe to run from several replicas at
        once: each close locks the vote and checks it is still open."""
        now = self.clock.now()
        async with self.db.read() as session:
            due = await q.due_vote_ids(session, now)
        closed: list[int] = []
        for vote_id in due:
            async with self.db.write() as session:
                if await self.close_if_due(session, vote_id, now):
                    closed.append(vote_id)
        return closed

    async def close_if_due(self, session: AsyncSession, vote_id: int, now: datetime) -> bool:
        """Close the vote as of its deadline if it is open and due, in the caller's write transaction;
        True when this call closed it."""
        vote = await q.lock_vote(session, vote_id)
        if vote is None or vote.status != "open" or vote.closes_at > now:
            return False  # another process closed it first: it posted the result
        await self._close_locked(session, vote, vote.closes_at, None, False, now)
        return True

    async def view_in(self, session: AsyncSession, vote_id: int) -> VoteView:
        """The vote as stored now, read in the caller's transaction."""
        return await self._view(session, vote_id)

    async def _close_locked(self, session: AsyncSession, vote: Vote, at: datetime, by: str | None, forced: bool,
                            now: datetime, *, answered_in: str | None = None) -> VoteView:
        """Close the locked vote as of ``at``, decided by its running tally; the close hooks (the result
        post) get the closed vote."""
        assert vote.id is not None
        decision = decide_tally(vote.rule, *tally_of(vote), vote.electorate_size)
        reason = "deadline" if by is None else ("forced" if forced else "all-voted")
        by_name = None
        if by is not None:
            by_name = (await members_q.display_names(session, vote.workspace_id, [by])).get(by, _name(by))
        # A vote opened in format 1 keeps format 1 to its end: its close is logged as format 1 was.
        v2 = await self._format(session, vote.id) >= 2
        event = await self._append(session, vote.id, "close", now, {
            "closed_at": event_time(at) if v2 else iso(at), "closed_by": by, "forced": forced,
            "early": at < vote.closes_at, "outcome": decision.outcome, "explanation": decision.explanation,
            "tally": tally_dict(decision.binding, decision.non_binding),
            **({"closed_by_name": by_name, "reason": reason} if v2 else {}),
        })
        await q.update_vote(session, vote.id, status="closed", closed_at=at, closed_by=by, closed_by_name=by_name,
                            close_forced=forced,
                            outcome=decision.outcome, explanation=decision.explanation, head_digest=event.hash)
        view = await self._view(session, vote.id)
        for hook in self.close_hooks:
            await hook(session, view, answered_in)
        return view

    # -- helpers ----------------------------------------------------------------------------
    @property
    def _zone(self) -> str:
        return self.settings.default_display_zones[0] if self.settings.default_display_zones else "UTC"

    async def _locked(self, session: AsyncSession, workspace_id: str, vote_id: int) -> Vote:
        vote = await q.lock_vote(session, vote_id)
        if vote is None or vote.workspace_id != workspace_id:
            raise _not_found(vote_id)
        return vote

    def _require_open(self, vote: Vote, now: datetime) -> None:
        if vote.status != "open":
            raise Conflict(
                f"Vote #{vote.number} is closed ({_closed_words(vote, self._zone)}): ballots can no longer be cast."
            )
        if now >= vote.closes_at:
            raise Conflict(f"Vote #{vote.number} closed at its deadline, {format_home(vote.closes_at, self._zone)}: "
                           "ballots can no longer be cast.")

    async def _format(self, session: AsyncSession, vote_id: int) -> int:
        """The event format the vote was opened in (bot/rules/vote_log.py)."""
        first = await q.event_page(session, vote_id, 0, 1)
        if not first:
            return EVENT_FORMAT
        value = event_of(first[0]).payload.get("format", 1)
        return value if isinstance(value, int) else 1

    async def _append(self, session: AsyncSession, vote_id: int, kind: str, now: datetime,
                      payload: dict[str, Any]) -> Event:
        """Append one event after the vote's current head. The caller holds the vote's lock."""
        last = await q.last_event_row(session, vote_id)
        prev = event_of(last) if last is not None else None
        # The payload goes through JSON once so what is hashed is exactly what is stored and read back.
        clean = json.loads(canonical(payload))
        event = next_event(prev, vote_id, kind, event_time(now), clean)
        await q.insert_event(session, {
            "vote_id": vote_id, "seq": event.seq, "kind": kind, "payload": canonical(clean).decode("utf-8"),
            "created_at": now, "prev_hash": event.prev_hash, "hash": event.hash,
        })
        return event

    async def _view(self, session: AsyncSession, vote_id: int, *, every_ballot: bool = False) -> VoteView:
        """The vote as stored now: with its binding ballots, or ``every_ballot``."""
        vote = await q.get_vote(session, vote_id)
        assert vote is not None
        await session.refresh(vote)
        return (await load_views(session, [vote], every_ballot=every_ballot))[0]


async def load_views(session: AsyncSession, votes: Sequence[Vote], *, every_ballot: bool = False) -> list[VoteView]:
    """Views of ``votes`` with their binding ballots (see ``VoteView.ballots``), or ``every_ballot``."""
    ids = [v.id for v in votes if v.id is not None]
    electorates = await q.electorate_of_many(session, ids)
    ballots = await q.ballots_of_many(session, ids, binding_only=not every_ballot)
    people: dict[str, set[str]] = {}
    for vote in votes:
        people.setdefault(vote.workspace_id, set()).update(p for p in (vote.opened_by, vote.closed_by) if p)
    names: dict[str, str] = {}
    for workspace, members in people.items():
        names.update(await members_q.display_names(session, workspace, members))
    views = []
    for vote in votes:
        assert vote.id is not None
        # The names as logged; a vote from before they were kept shows the member's current name.
        closer = None
        if vote.closed_by:
            closer = vote.closed_by_name or names.get(vote.closed_by, _name(vote.closed_by))
        views.append(_view_of(
            vote, electorates[vote.id], tuple(_ballot_of_row(r) for r in ballots[vote.id]),
            vote.opened_by_name or names.get(vote.opened_by, _name(vote.opened_by)), closer, tally_of(vote),
        ))
    return views


def _view_of(vote: Vote, electorate: Sequence[tuple[str, str]], ballots: tuple[BallotView, ...], opened_by_name: str,
             closed_by_name: str | None, tally: tuple[Tally, Tally], *, head_digest: str | None = None) -> VoteView:
    assert vote.id is not None
    return VoteView(
        id=vote.id, workspace_id=vote.workspace_id, title=vote.title, link=vote.link, rule=vote.rule,
        binding_role=vote.binding_role, opened_by=vote.opened_by, opened_by_name=opened_by_name,
        opened_at=vote.opened_at, closes_at=vote.closes_at, short_forced=vote.short_forced,
        channel_id=vote.channel_id, status=vote.status, closed_at=vote.closed_at, closed_by=vote.closed_by,
        closed_by_name=closed_by_name, close_forced=vote.close_forced, outcome=vote.outcome,
        explanation=vote.explanation, head_digest=head_digest or vote.head_digest, opened_digest=vote.opened_digest,
        electorate_digest=vote.electorate_digest, electorate=tuple(electorate), ballots=ballots, tally=tally,
        number=vote.number or 0,
    )


def _ballot_of_row(r: q.BallotRow) -> BallotView:
    return BallotView(r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7])


def _added(tally: tuple[Tally, Tally], changes: Mapping[tuple[bool, str], int]) -> tuple[Tally, Tally]:
    """``tally`` after ``changes`` as ``q.count_in_tally`` takes them: (binding, count) to +1 or -1."""
    counts = {(binding, kind): getattr(tally[0 if binding else 1], kind) + changes.get((binding, kind), 0)
              for binding in (True, False) for kind in ("plus", "zero", "minus")}
    return (Tally(counts[True, "plus"], counts[True, "zero"], counts[True, "minus"]),
            Tally(counts[False, "plus"], counts[False, "zero"], counts[False, "minus"]))


def tally_of(vote: Vote) -> tuple[Tally, Tally]:
    return (Tally(vote.tally_binding_plus, vote.tally_binding_zero, vote.tally_binding_minus),
            Tally(vote.tally_other_plus, vote.tally_other_zero, vote.tally_other_minus))


def _require_chair(actor: Actor, what: str, chair_roles: tuple[str, ...]) -> None:
    if not actor.is_chair:
        raise PermissionDenied(f"Only chairs ({' or '.join(chair_roles)}) may {what}: ask a chair to do it.")


async def vote_id_of(session: AsyncSession, workspace_id: str, number: int) -> int:
    """The stable id of the vote a member named ``#number`` (numbers are per workspace)."""
    vote_id = await numbers_q.id_of_number(session, workspace_id, "vote", number)
    if vote_id is None:
        raise _not_found(number)
    return vote_id


def _not_found(vote_id: int) -> NotFound:
    return NotFound(f"There is no vote #{vote_id} here: /vote list shows the votes and their numbers.")


def _closed_words(vote: Vote, zone: str) -> str:
    when = format_home(vote.closed_at, zone) if vote.closed_at else "at an unrecorded time"
    return f"closed {when}, {vote.outcome}"


def tally_dict(binding: Tally, non_binding: Tally) -> dict[str, dict[str, int]]:
    return {"binding": binding.as_dict(), "non_binding": non_binding.as_dict()}


def event_of(row: q.EventRow) -> Event:
    vote_id, seq, kind, payload, created_at, prev_hash, hash_ = row
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = {"unreadable": payload}
    return Event(vote_id, seq, kind, event_time(created_at), parsed, prev_hash, hash_)
