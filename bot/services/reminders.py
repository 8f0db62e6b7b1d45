"""What is due: reminders, the agenda-deadline step (announcement or "no meeting this week") and the
personal reminder settings. Everything is computed from the database on each tick, never held only
in the scheduler, so a restart or a second replica loses and doubles nothing. This module decides
what is written and when; the messages' wording is in ``bot.services.reminder_messages``.

Every planned message has a deterministic outbox key (``mtg:<series id>:<occurrence key>:...``), so
planning again is a no-op, and a pending message that is no longer wanted (the meeting was cancelled,
the member opted out) is cancelled before it is sent.

Seams for features built elsewhere:
- ``DeadlineHook``: ``async (session, series, meeting_row) -> None``, called in the deadline step's
  transaction for a meeting that will be held, before the announcement is rendered from
  ``meeting_row.host`` / ``meeting_row.note_taker`` (rotation fixes the assignment here).
- ``DuePlanner``: ``async (session, now, outbox) -> datetime | None``, called on every tick in a write
  transaction of its own; it enqueues whatever is due (e.g. votes: a reminder 24 h before close to
  binding voters who have not voted, key ``vote:<id>:remind:<member>``; the automatic close at the
  deadline with the result posted, key ``vote:<id>:result``) and returns the next instant it wants to
  be called at (None: only on the regular tick)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor, platform_of
from bot.contracts.outbound import OutboundKind
from bot.contracts.reply import Reply
from bot.errors import Conflict
from bot.rules.meetings import Occurrence
from bot.rules.reminders import MAX_OFFSET, format_offsets, member_offsets, parse_offsets, superseded_overdue
from bot.rules.time import agenda_deadline
from bot.services import reminder_messages as messages
from bot.services.meetings import MeetingService
from bot.services.outbox import Outbox, OutboxDispatcher, encode_reply
from bot.services.views import AgendaEntry, SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.models import Meeting
from storage.queries import agenda as agenda_q
from storage.queries import meetings as meetings_q
from storage.queries import members as members_q
from storage.queries import outbox as outbox_q
from storage.queries import plans as plans_q
from storage.queries import subscriptions as subs_q

log = logging.getLogger("quorum.reminders")

DeadlineHook = Callable[[AsyncSession, SeriesInfo, Meeting], Awaitable[None]]
DuePlanner = Callable[[AsyncSession, datetime, Outbox], Awaitable[datetime | None]]
# Called for every meeting planned, after its deadline step, with its agenda: writes what else follows the
# meeting (its forum topic, bot/services/forum.py); returns when it next has something to do.
OccurrencePlanner = Callable[[AsyncSession, SeriesInfo, Occurrence, list[AgendaEntry], datetime],
                             Awaitable[datetime | None]]

# Meetings that started up to this long ago are still looked at (marked held, late deadline steps);
# older ones are history.
LOOKBACK = timedelta(days=2)
# Messages are written to the outbox this long before they are due, so pending ones are visible and a
# change to the meeting (cancel, opt-out) cancels them; their text is refreshed until they are sent.
WRITE_AHEAD = timedelta(hours=6)
SYSTEM = "quorum"
NO_ITEMS = "no agenda items"


class _Raced(Exception):
    """Another replica did the deadline step of this meeting first; this transaction rolls back."""


@dataclass(frozen=True)
class PlannedMessage:
    """A message the planner wants in the outbox (written, or refreshed while still pending, under ``key``)."""

    key: str
    kind: OutboundKind
    target: str
    reply: Reply
    due_at: datetime
    expires_at: datetime
    fallback_channel: str | None = None

    def payload(self) -> str:
        return encode_reply(self.reply)


@dataclass
class _Recipient:
    reasons: list[str] = field(default_factory=list)
    offsets: set[timedelta] = field(default_factory=set)


def meeting_prefix(series_id: int, occurrence_key: str) -> str:
    return f"mtg:{series_id}:{occurrence_key}:"


class ReminderService:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService, outbox: Outbox,
        deadline_hooks: list[DeadlineHook], due_planners: list[DuePlanner],
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        self.outbox = outbox
        self.deadline_hooks = deadline_hooks
        self.due_planners = due_planners
        self._planned_all = False  # the first tick of a process plans every series (run_due)
        # Filled by build_services (bot/app.py): the forum topic of each meeting, and how far ahead of a
        # meeting it opens (the planning window must reach that far).
        self.occurrence_planners: list[OccurrencePlanner] = []
        self.extra_lookahead = timedelta()

    # -- members' settings ------------------------------------------------------------------
    async def set_offsets(self, actor: Actor, text: str) -> tuple[timedelta, ...] | None:
        """``/me reminders 24h,1h|off``; returns the offsets now in force (None = off)."""
        offsets = parse_offsets(text)
        async with self.db.write() as session:
            await members_q.set_member_fields(session, actor.workspace_id, actor.member_id, self.clock.now(),
                                              reminder_offsets=format_offsets(offsets))
            # The member may be host, note-taker, author or subscriber of any series of the workspace.
            await plans_q.replan(session, self.clock.now(), workspace_id=actor.workspace_id)
        return offsets

    async def subscribe(self, actor: Actor, slug: str | None, on: bool) -> tuple[SeriesInfo, bool]:
        """Subscribe (``on``) or unsubscribe; the bool says whether anything changed."""
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            if on:
                changed = await subs_q.subscribe(session, series.id, actor.member_id, self.clock.now())
            else:
                changed = await subs_q.unsubscribe(session, series.id, actor.member_id)
            if changed:
                await plans_q.replan(session, self.clock.now(), series_id=series.id)
        if not changed:
            state = "already subscribed to" if on else "not subscribed to"
            raise Conflict(f"You are {state} {series.name} ({series.slug}).")
        return series, changed

    # -- the tick ---------------------------------------------------------------------------
    async def run_due(self, workspace_id: str | None = None) -> datetime | None:
        """Do every deadline step that is due, mark started meetings held, write the messages that are
        due (or soon due) to the outbox, and run the other planners. Returns the next instant at which
        planning has something new to do (None: nothing known). With ``workspace_id`` (the console's
        rehearsal tick) only that workspace's meetings are planned and the other planners do not run.

        Only the series whose ``plan_at`` has come are planned (one indexed query, storage/queries/plans.py):
        planning stores there the next instant it has something to do, and every change that affects a
        series' messages sets it to now. The first tick of a process plans every series once, so settings
        changed across a restart (reminder offsets) apply to messages already written."""
        now = self.clock.now()
        async with self.db.read() as session:
            if workspace_id is not None or not self._planned_all:
                rows = (await meetings_q.series_of_workspace(session, workspace_id) if workspace_id is not None
                        else await meetings_q.all_series(session))
                series_ids = sorted(row.id for row in rows if row.id is not None)  # stored rows have one
            else:
                series_ids = await plans_q.due_series(session, now)
        if workspace_id is None:
            self._planned_all = True
        wakeups: list[datetime] = []
        for series_id in series_ids:
            try:
                found = await self._plan_series(series_id)
            except _Raced:
                found = self.clock.now()  # look again right away: the other replica's work is committed
            except Exception:
                log.exception("planning reminders of series %s failed; trying again on the next tick", series_id)
                continue
            if found is not None:
                wakeups.append(found)
        if workspace_id is None:
            async with self.db.read() as session:
                later = await plans_q.next_plan_at(session, self.clock.now())
            if later is not None:
                wakeups.append(later)
        for planner in list(self.due_planners) if workspace_id is None else []:
            try:
                async with self.db.write() as session:
                    found = await planner(session, self.clock.now(), self.outbox)
            except Exception:
                log.exception("due planner %r failed; trying again on the next tick", planner)
                continue
            if found is not None:
                wakeups.append(found)
        return min(wakeups) if wakeups else None

    def _lookahead(self, series: SeriesInfo) -> timedelta:
        reminders = self.settings.reminders
        longest = max(series.deadline + reminders.channel_before_deadline, MAX_OFFSET,
                      reminders.author_offset, *reminders.member_offsets)
        return max(longest + WRITE_AHEAD, self.extra_lookahead) + timedelta(days=1)

    async def _plan_series(self, series_id: int) -> datetime | None:
        """Plan the series' meetings in the window and store when it next has something to do: the
        nearest step of those meetings, or when the next meeting after the window enters it."""
        now = self.clock.now()
        wakeups: list[datetime] = []
        stepped: list[str] = []  # occurrences whose deadline step ran in this transaction
        async with self.db.write() as session:
            # Before any read: what this plan reads of the meetings must not be older than what it reads of
            # the outbox, which another replica planning the series at the same time would write.
            await plans_q.lock_planning(session, series_id)
            row = await meetings_q.series_by_id(session, series_id)
            if row is None:
                return None
            version = row.plan_version  # read before anything planning depends on (plans_q.store_plan)
            series = SeriesInfo.of(row)
            if await self._settle_older(session, series, now - LOOKBACK):
                stepped.append("older")
            window_end = now + self._lookahead(series)
            # A weekly series has a meeting in any 8 days after the window (cancelled ones included).
            found = await self.meetings.occurrences(session, series, now - LOOKBACK, window_end + timedelta(days=8))
            for occurrence in (o for o in found if o.starts_at < window_end):
                at = await self._plan_occurrence(session, series, occurrence, now, stepped)
                if at is not None:
                    wakeups.append(at)
            beyond = [o.starts_at for o in found if o.starts_at >= window_end]
            # The next meeting after the window is planned once it enters the window; without one (a series
            # not started yet, say) look again in a day.
            entry = min(beyond) - self._lookahead(series) if beyond else now + timedelta(days=1)
            await plans_q.store_plan(session, series_id, version, max(min([*wakeups, entry]), now))
        if stepped:  # after the commit, so listeners (the calendar cache) read the new state
            self.meetings.notify_changed(series_id)
        return min(wakeups) if wakeups else None

    async def _plan_occurrence(
        self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence, now: datetime, stepped: list[str]
    ) -> datetime | None:
        prefix = meeting_prefix(series.id, occurrence.key)
        existing = {row.key: row for row in await outbox_q.with_prefix(session, prefix)}
        deadline = agenda_deadline(occurrence.starts_at, series.deadline)
        announce_key = prefix + "announce"
        if deadline <= now and announce_key not in existing:
            occurrence = await self._deadline_step(session, series, occurrence, announce_key)
            stepped.append(occurrence.key)
            existing = {row.key: row for row in await outbox_q.with_prefix(session, prefix)}
        items: list[AgendaEntry] = []
        if occurrence.meeting_id is not None:
            items = [AgendaEntry.of(i) for i in await agenda_q.items_of(session, occurrence.meeting_id)]
        if occurrence.starts_at <= now and occurrence.status == "scheduled" and items:
            await self._mark_held(session, occurrence)
        later: list[datetime] = []
        for occurrence_planner in self.occurrence_planners:
            found = await occurrence_planner(session, series, occurrence, items, now)
            if found is not None and found > now:
                later.append(found)
        wanted = await self._wanted(session, series, occurrence, items, now)
        wanted_keys = {p.key for p in wanted} | {announce_key}
        for planned in wanted:
            stored = existing.get(planned.key)
            if stored is None:
                if planned.due_at <= now + WRITE_AHEAD:
                    await self.outbox.enqueue(
                        session, key=planned.key, workspace_id=series.workspace_id, kind=planned.kind,
                        target=planned.target, reply=planned.reply, due_at=planned.due_at,
                        fallback_channel=planned.fallback_channel, expires_at=planned.expires_at)
                continue
            if stored.status != "pending" or stored.claimed_by is not None:
                continue
            changes: dict[str, object] = {}
            if stored.payload != planned.payload():
                changes["payload"] = planned.payload()
            if stored.due_at != planned.due_at and stored.attempts == 0:
                changes.update(due_at=planned.due_at, next_attempt_at=planned.due_at)
            if stored.expires_at != planned.expires_at:
                changes["expires_at"] = planned.expires_at
            if stored.target != planned.target:
                changes["target"] = planned.target
            if changes:
                await outbox_q.update_unclaimed(session, stored.id or 0, changes)
        for key, stored in existing.items():
            if key not in wanted_keys and stored.status == "pending":
                # Overdue and unsent (the bot was down): missed. Not yet due: the meeting was cancelled or
                # changed, or the member opted out.
                overdue = stored.due_at <= now and occurrence.status != "cancelled"
                await outbox_q.update_unclaimed(session, stored.id or 0, {
                    "status": "missed" if overdue else "cancelled",
                    "last_error": "not sent in time; no longer useful" if overdue else
                    "no longer wanted (meeting cancelled or changed, or the member opted out)"})
        later.extend(p.due_at - WRITE_AHEAD for p in wanted if p.due_at - WRITE_AHEAD > now)
        if deadline > now:
            later.append(deadline)
        if occurrence.starts_at > now:
            later.append(occurrence.starts_at)
        return min(later) if later else None

    async def _settle_older(self, session: AsyncSession, series: SeriesInfo, before: datetime) -> bool:
        """Meetings that started before the look-back and are still 'scheduled' (the bot was down longer
        than LOOKBACK) are marked as the ticks would have at their deadline and start: held with agenda
        items, cancelled without. Nothing is sent for them: a message this late would only mislead.
        (Meetings never stored had no items; the views show them cancelled, bot/rules/meetings.py
        as_settled.) Returns whether any was marked."""
        rows = await meetings_q.scheduled_before(session, series.id, before)
        if not rows:
            return False
        items = await agenda_q.items_of_many(session, [r.id for r in rows if r.id is not None])
        now = self.clock.now()
        for row in rows:
            row.status = "held" if items.get(row.id or -1) else "cancelled"
            row.status_reason = None if row.status == "held" else NO_ITEMS
            row.status_changed_by = SYSTEM
            row.updated_at = now
        await meetings_q.touch_series(session, series.id, now)
        log.info("marked %d meeting(s) of %s that started during an outage as held or cancelled (nothing sent)",
                 len(rows), series.slug)
        return True

    async def _mark_held(self, session: AsyncSession, occurrence: Occurrence) -> None:
        assert occurrence.meeting_id is not None
        row = await meetings_q.meeting_by_id(session, occurrence.meeting_id)
        if row is not None and row.status == "scheduled":
            row.status = "held"
            row.status_changed_by = SYSTEM
            row.updated_at = self.clock.now()

    # -- the agenda deadline ----------------------------------------------------------------
    async def _deadline_step(
        self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence, key: str
    ) -> Occurrence:
        """Once per meeting, at its agenda deadline: cancel it if its agenda is empty, else let the
        deadline hooks (rotation) fix host and note-taker; then announce it. Replicas plan a series one
        at a time (plans_q.lock_planning); the outbox key still decides who does it should two get here at
        once."""
        now = self.clock.now()
        row = await self.meetings.stored(session, series, occurrence)
        assert row.id is not None
        items = [AgendaEntry.of(i) for i in await agenda_q.items_of(session, row.id)]
        if row.status == "scheduled" and not items:
            row.status = "cancelled"
            row.status_reason = NO_ITEMS
            row.status_changed_by = SYSTEM
            row.updated_at = now
        elif row.status == "scheduled":
            for hook in self.deadline_hooks:
                await hook(session, series, row)
            await session.flush()
        reply = await self._announcement(session, series, row, items)
        written = await self.outbox.enqueue(
            session, key=key, workspace_id=series.workspace_id, kind="channel", target=series.channel or "",
            reply=reply, due_at=agenda_deadline(row.starts_at, series.deadline), expires_at=row.starts_at)
        if not written:
            raise _Raced(key)
        await meetings_q.touch_series(session, series.id, now)
        log.info("deadline step of %s %s: %s with %d item(s)", series.slug, occurrence.key, row.status, len(items))
        return occurrence_of(row)

    async def _announcement(
        self, session: AsyncSession, series: SeriesInfo, row: Meeting, items: list[AgendaEntry]
    ) -> Reply:
        if row.status == "cancelled":
            following = await self.meetings.upcoming_in(session, series, 1, include_cancelled=False,
                                                        after=row.starts_at)
            return messages.cancelled_announcement(series, row, items, following[0] if following else None,
                                                   empty_agenda=row.status_reason == NO_ITEMS)
        names = await members_q.display_names(session, series.workspace_id,
                                              [p for p in (row.host, row.note_taker) if p])
        return messages.agenda_announcement(series, row, items, names)

    # -- for the status notices (bot/services/meeting_status.py) ---------------------------
    async def replan_meeting(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence) -> None:
        """Plan one meeting's messages now, in the caller's transaction (a cancel or a restore after the
        deadline step, which this never runs), so that no dispatcher sends a reminder the change made
        pointless, and a restored meeting's reminders are written at once, before the next tick."""
        await self._plan_occurrence(session, series, occurrence, self.clock.now(), [])

    async def announcement(self, session: AsyncSession, series: SeriesInfo, row: Meeting) -> Reply:
        """The meeting's announcement as the deadline step would write it now (agenda or "no meeting")."""
        assert row.id is not None
        items = [AgendaEntry.of(i) for i in await agenda_q.items_of(session, row.id)]
        return await self._announcement(session, series, row, items)

    # -- reminders --------------------------------------------------------------------------
    async def _wanted(
        self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence, items: list[AgendaEntry],
        now: datetime,
    ) -> list[PlannedMessage]:
        """Every reminder this meeting should get (sent or not), from its current state."""
        if occurrence.status != "scheduled" or occurrence.starts_at <= now:
            return []
        prefix = meeting_prefix(series.id, occurrence.key)
        reminders = self.settings.reminders
        deadline = agenda_deadline(occurrence.starts_at, series.deadline)
        wanted: list[PlannedMessage] = []
        channel = series.channel or ""
        if (series.channel or platform_of(series.workspace_id) == "console") and deadline > now:
            wanted.append(PlannedMessage(prefix + "agenda-closing", "channel", channel,
                                         messages.agenda_closing(series, occurrence, items, deadline),
                                         deadline - reminders.channel_before_deadline, deadline))
        recipients: dict[str, _Recipient] = {}
        people = [(occurrence.host, messages.AS_HOST), (occurrence.note_taker, messages.AS_NOTE_TAKER)]
        subscribers = (await subs_q.subscribers_of(session, [series.id]))[series.id]
        people.extend((member, messages.AS_SUBSCRIBER) for member in subscribers)
        # Items labelled on GitHub by someone who has not linked their login (author "github:<login>") have
        # no member to remind (docs/github.md).
        authors = {i.author for i in items if not i.author.startswith("github:")}
        ids = {p for p, _ in people if p} | authors
        members = {m.id: m for m in await members_q.members_of(session, series.workspace_id, ids)}
        for member_id, reason in people:
            if not member_id:
                continue
            offsets = member_offsets(members[member_id].reminder_offsets if member_id in members else None,
                                     reminders.member_offsets)
            if offsets is None:
                continue
            entry = recipients.setdefault(member_id, _Recipient())
            entry.reasons.append(reason)
            entry.offsets.update(offsets)
        for author in sorted(authors):
            stored = members[author].reminder_offsets if author in members else None
            if member_offsets(stored, reminders.member_offsets) is None:
                continue
            entry = recipients.setdefault(author, _Recipient())
            entry.reasons.append(messages.as_author([i for i in items if i.author == author]))
            entry.offsets.add(reminders.author_offset)
        for member_id in sorted(recipients):
            entry = recipients[member_id]
            zone = members[member_id].timezone if member_id in members else None
            due = {offset: occurrence.starts_at - offset for offset in entry.offsets}
            stale = superseded_overdue(due.items(), now)
            for offset in sorted(entry.offsets, reverse=True):
                if offset in stale:
                    continue
                reply = messages.reminder_dm(series, occurrence, zone, entry.reasons, items)
                wanted.append(PlannedMessage(f"{prefix}dm:{member_id}:{int(offset.total_seconds())}", "dm",
                                             member_id, reply, due[offset], occurrence.starts_at, series.channel))
        return wanted


async def due_tick(reminders: ReminderService, dispatcher: OutboxDispatcher) -> datetime | None:
    """One wake-up of the scheduler: plan what is due from the database, send what is due, and return
    the next instant worth waking up at (the nearest planning step, pending message or lease expiry)."""
    planned = await reminders.run_due()
    await dispatcher.dispatch_due()
    try:
        await dispatcher.prune()
    except Exception:  # housekeeping: never in the way of sending
        log.exception("pruning the outbox failed; trying again on a later tick")
    pending = await dispatcher.next_wakeup()
    found = [t for t in (planned, pending) if t is not None]
    return min(found) if found else None
