"""Votes and the outbox: the reminder before a vote closes, the automatic close at the deadline, and
the ``[RESULT][VOTE]`` post.

- ``plan`` is a due planner (docs/reminders.md): on every tick, in one write transaction, it writes a
  DM (``vote:<id>:remind:<member>``) to each member of an open vote's electorate who has no ballot once
  ``settings.reminders.vote_before_close`` before the close has come, closes the votes whose deadline
  passed, and returns the next instant either happens, so the scheduler wakes up exactly then.
- ``on_close`` runs in the transaction of every close (the planner's, a command's lazy close, a chair's
  ``/vote close``): it writes the result post (``vote:<id>:result``) to the channel the vote was opened
  in, unless the closing command already answered in that very channel, redraws each recorded message
  of the vote as the result (``vote:<id>:redraw:<message>``, see ``VoteService.remember_message``), and
  stops the reminders that were not sent.
- ``on_cast`` runs in the transaction of a ballot: the voter's pending reminder is cancelled.

The vote row's lock (taken by every close and ballot, and here before reminders are planned) orders
these, so a member who votes never gets a reminder written after their ballot, and two processes
closing one vote at once post one result: the second finds it closed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta

from bot.config import Settings
from bot.contracts.actor import platform_of
from bot.services.outbox import Outbox
from bot.services.vote_render import reminder_reply, result_reply
from bot.services.votes import VoteService, VoteView
from storage.db import AsyncSession
from storage.queries import members as members_q
from storage.queries import outbox as outbox_q
from storage.queries import vote_schedule as schedule_q
from storage.queries import votes as votes_q

log = logging.getLogger("quorum.votes")

# How far back each tick looks again for votes entering the reminder lead (see ``plan``): far more than
# the time between a command taking its instant and committing (at most the write lock's 10 s wait),
# plus any clock difference between replicas.
ENTERING_OVERLAP = timedelta(minutes=15)


def result_key(vote_id: int) -> str:
    return f"vote:{vote_id}:result"


def redraw_prefix(vote_id: int) -> str:
    return f"vote:{vote_id}:redraw:"


def reminder_prefix(vote_id: int) -> str:
    return f"vote:{vote_id}:remind:"


def reminder_key(vote_id: int, member_id: str) -> str:
    return reminder_prefix(vote_id) + member_id


class VoteNotices:
    def __init__(self, settings: Settings, votes: VoteService, outbox: Outbox) -> None:
        self.settings = settings
        self.votes = votes
        self.outbox = outbox
        # The due planner's memory (``plan``): votes closing up to this instant were seen by this process,
        # the open ones among them (id -> deadline) whose reminders are not known to be all written, and
        # those known to be done with (id -> deadline), so that looking back over ENTERING_OVERLAP does
        # not check them again.
        self._seen_until: datetime | None = None
        self._unfinished: dict[int, datetime] = {}
        self._finished: dict[int, datetime] = {}

    @property
    def zones(self) -> tuple[str, ...]:
        return self.settings.default_display_zones or ("UTC",)

    # -- the due planner --------------------------------------------------------------------
    async def plan(self, session: AsyncSession, now: datetime, outbox: Outbox) -> datetime | None:
        """Write the reminders that are due, close the votes that are due (posting their results), and
        return the next instant something about a vote becomes due.

        It costs by what is due, not by how many votes are open: every query is an indexed range or MIN
        on the open votes' deadlines. The first call of a process reads every vote within its reminder
        lead; later calls read only those that entered it since (``_seen_until``), the ones whose
        reminders are not known to be all written yet (``_unfinished``), and those due to close."""
        before = self.settings.reminders.vote_before_close
        until = now + before
        # A vote is opened with the instant its command took before waiting for the write lock, and it
        # may commit after a tick that ran with a later clock (or on a replica whose clock is ahead):
        # its deadline can then fall before ``_seen_until``. Looking back over a generous overlap finds
        # it; the votes already done with are skipped, and reminder keys would dedupe anyway.
        start = None if self._seen_until is None else self._seen_until - ENTERING_OVERLAP
        entering = await schedule_q.open_closing_between(session, start, until)
        self._seen_until = until
        if start is not None:
            self._finished = {i: at for i, at in self._finished.items() if at >= start}
        for vote in entering:
            # Shorter than the lead: its message is the notice.
            if vote.id not in self._finished and vote.closes_at - before >= vote.opened_at:
                self._unfinished[vote.id] = vote.closes_at
        # Before the closes: a reminder written now and never sent is then marked missed by the close, so
        # `quorum outbox` shows it was not sent.
        for vote_id in sorted(self._unfinished, key=lambda i: (self._unfinished[i], i)):
            await self._isolated(session, vote_id, "reminders", self._remind(session, vote_id, now, outbox))
        for vote_id in await votes_q.due_vote_ids(session, now, limit=None):
            await self._isolated(session, vote_id, "close", self._close(session, vote_id, now))
        later = [await schedule_q.first_close_after(session, now)]
        # The votes closing after the lead: the first of them is reminded (or closed, if shorter than the
        # lead) no sooner than ``before`` ahead of its deadline.
        first = await schedule_q.first_close_after(session, until)
        later.append(first - before if first is not None else None)
        found = [t for t in later if t is not None]
        return min(found) if found else None

    async def _isolated(self, session: AsyncSession, vote_id: int, what: str, work: Awaitable[None]) -> None:
        """One vote's work in a savepoint: a vote that cannot be handled (logged, tried again next tick)
        does not hold back the others."""
        try:
            async with session.begin_nested():
                await work
        except Exception:
            log.exception("vote #%s: %s failed; trying again on the next tick", vote_id, what)

    async def _close(self, session: AsyncSession, vote_id: int, now: datetime) -> None:
        if await self.votes.close_if_due(session, vote_id, now):
            log.info("vote #%s closed at its deadline", vote_id)

    async def _remind(self, session: AsyncSession, vote_id: int, now: datetime, outbox: Outbox) -> None:
        existing = await outbox_q.keys_with_prefix(session, reminder_prefix(vote_id))
        electorate = await votes_q.electorate_of(session, vote_id)
        # The vote is done with (``_unfinished``) only on what earlier transactions committed: written
        # reminders, ballots, a close. Reminders written here are checked again on the next call, in case
        # this transaction does not commit. The electorate is fixed when the vote opens.
        if all(reminder_key(vote_id, m) in existing for m, _ in electorate):
            self._finish(vote_id)  # everyone was reminded, or voted and was never written to
            return
        # Locked, so a ballot being cast now either committed before (and is seen) or waits, then finds
        # the reminder written here and cancels it.
        vote = await votes_q.lock_vote(session, vote_id)
        if vote is None or vote.status != "open":
            self._finish(vote_id)
            return
        # The electorate's ballots are the binding ones (at most the electorate; the others may be many).
        voted = {row[1] for row in (await votes_q.ballots_of_many(session, [vote_id], binding_only=True))[vote_id]}
        wanted = [m for m, _ in electorate if m not in voted and reminder_key(vote_id, m) not in existing]
        if not wanted:
            self._finish(vote_id)
            return
        view = await self.votes.view_in(session, vote_id)
        zones = {m.id: m.timezone for m in await members_q.members_of(session, vote.workspace_id, wanted)}
        for member in wanted:
            await outbox.enqueue(
                session, key=reminder_key(vote_id, member), workspace_id=vote.workspace_id, kind="dm",
                target=member, reply=reminder_reply(view, zones.get(member), self.zones),
                due_at=vote.closes_at - self.settings.reminders.vote_before_close,
                fallback_channel=vote.channel_id, expires_at=vote.closes_at,
            )
        log.info("vote #%s: reminded %d member(s) of the electorate who have not voted", vote_id, len(wanted))

    def _finish(self, vote_id: int) -> None:
        closes_at = self._unfinished.pop(vote_id, None)
        if closes_at is not None:
            self._finished[vote_id] = closes_at

    # -- hooks of the vote service ----------------------------------------------------------
    async def on_cast(self, session: AsyncSession, vote_id: int, voter: str) -> None:
        """The voter's reminder, if written and not yet taken by a dispatcher, is not sent."""
        await outbox_q.update_unclaimed_key(session, reminder_key(vote_id, voter), {
            "status": "cancelled", "last_error": "the member voted before it was sent"})

    async def on_close(self, session: AsyncSession, view: VoteView, answered_in: str | None) -> None:
        vote_id = view.id
        now = self.outbox.clock.now()
        for row in await outbox_q.with_prefix(session, reminder_prefix(vote_id)):
            if row.status != "pending":
                continue
            overdue = row.due_at <= now
            await outbox_q.update_unclaimed(session, row.id or 0, {
                "status": "missed" if overdue else "cancelled",
                "last_error": "not sent before the vote closed" if overdue else "the vote closed early"})
        for message_ref in await votes_q.messages_of(session, vote_id):
            # The messages that showed the live tally become the result, without buttons.
            await self.outbox.enqueue(session, key=f"{redraw_prefix(vote_id)}{message_ref}",
                                      workspace_id=view.workspace_id, kind="update", target=message_ref,
                                      reply=result_reply(view, self.zones), due_at=now)
        channel = view.channel_id
        if answered_in is not None and answered_in == (channel or ""):
            # /vote close answered with the result in the vote's own channel (or, on the console, to the
            # chair who typed it): posting it again there would say it twice.
            return
        platform = platform_of(view.workspace_id)
        key = result_key(vote_id)
        written = await self.outbox.enqueue(
            session, key=key, workspace_id=view.workspace_id, kind="channel", target=channel or "",
            reply=result_reply(view, self.zones), due_at=now,
        )
        if written and not channel and platform != "console":
            # Nowhere to post it: recorded as failed (`quorum outbox` lists it), the vote stays closed.
            row = (await outbox_q.by_keys(session, [key]))[key]
            await outbox_q.update_unclaimed(session, row.id or 0, {
                "status": "failed", "last_error": "the vote has no channel to post its result in"})
            log.error("vote #%s closed but has no channel to post its result in (%s)", vote_id, view.workspace_id)
