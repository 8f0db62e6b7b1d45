"""Rotation use cases: rosters, skips, swaps, a chair's direct assignment, the provisional picks shown
before a meeting's agenda deadline, and fixing the assignment at that deadline.

Every answer comes from one replay of the series' meetings through ``bot.rules.rotation``: fixed
meetings count as they were fixed, later ones as the rule would pick them now. So what
``/meeting next`` shows, what ``/rotation show`` explains and what gets fixed at the deadline agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.rules.meetings import Occurrence
from bot.rules.rotation import (
    DUTIES,
    DUTY_WORDS,
    HOST,
    NOTES,
    Assignment,
    MeetingInput,
    RosterEntry,
    Rotation,
    replay,
)
from bot.rules.time import agenda_deadline, format_home, format_zone_line, member_zone
from bot.services.meetings import MeetingService, require_chair
from bot.services.outbox import Outbox
from bot.services.views import SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.models import Meeting, RotationSwap
from storage.queries import agenda as agenda_q
from storage.queries import meetings as meetings_q
from storage.queries import members as members_q
from storage.queries import rotation as q

SHOW_UPCOMING = 4
# Meetings that started longer ago than this and were never fixed (the bot was off) are left as the
# replay computes them rather than fixed late.
FIX_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Planned:
    """One meeting of the replay: its occurrence, its assignment and whether it is fixed."""

    occurrence: Occurrence
    assignment: Assignment


@dataclass(frozen=True)
class Plan:
    series: SeriesInfo
    meetings: list[Planned]
    counts: dict[str, dict[str, int]]  # duty -> member -> turns served
    names: dict[str, str]
    # (through_at, state JSON): the replay's standing after the last meeting it replayed that has
    # started; kept by the deadline step so that later replays resume from there.
    checkpoint: tuple[datetime, str] | None = None

    def find(self, key: str) -> Planned | None:
        return next((p for p in self.meetings if p.occurrence.key == key), None)

    def name(self, member: str | None) -> str:
        if member is None:
            return "nobody"
        return self.names.get(member, member.split(":")[-1])


@dataclass(frozen=True)
class RosterLine:
    member: str
    name: str
    turns: int


@dataclass(frozen=True)
class SwapInfo:
    id: int
    local_date: date
    duty: str
    from_name: str
    to_name: str
    status: str


@dataclass(frozen=True)
class RotationView:
    series: SeriesInfo
    rosters: dict[str, list[RosterLine]]
    upcoming: list[tuple[Occurrence, Assignment, list[str]]]  # occurrence, assignment, names of skippers
    swaps: list[SwapInfo]
    names: dict[str, str]

    def name(self, member: str | None) -> str:
        if member is None:
            return "nobody"
        return self.names.get(member, member.split(":")[-1])


class RotationService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService,
                 outbox: Outbox | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        # Where swap and assignment DMs are written (docs/rotation.md); standalone uses may leave it out.
        self.outbox = outbox or Outbox(clock)
        meetings.set_assignment_provider(self.provisional)

    # -- the replay ---------------------------------------------------------------------------
    async def plan(self, session: AsyncSession, series: SeriesInfo, until: datetime, since: datetime | None = None,
                   *, checkpoints: bool = True) -> Plan:
        """The series' meetings up to ``until`` (exclusive) with their assignments, and the turns served
        by then. ``Plan.meetings`` holds at least every meeting from ``since`` (default: ``until``) on.

        The replay resumes from the latest checkpoint before ``since`` (see ``RotationCheckpoint``), so
        its cost follows the weeks since the last fixed meeting, not the series' age; with
        ``checkpoints=False`` it replays from the rotation's start (the tests compare the two)."""
        now = self.clock.now()
        start = await q.rotation_start(session, series.id)
        if start is None:  # nobody has joined and nothing was fixed: one query, as most views need
            return Plan(series, [], {d: {} for d in DUTIES}, {})
        roster_rows = await q.roster_of(session, series.id)
        # A checkpoint is only trusted when it describes meetings that had started by now.
        saved = (await q.latest_checkpoint(session, series.id, min(since or until, now + timedelta(microseconds=1)))
                 if checkpoints else None)
        if saved is not None and saved[0] >= start:
            start = saved[0] + timedelta(microseconds=1)
        else:
            saved = None
        occurrences = await self.meetings.occurrences(session, series, start, until) if start < until else []
        rows = {m.id: m for m in await meetings_q.meetings_between(session, series.id, start, until)}
        ids = [o.meeting_id for o in occurrences if o.meeting_id is not None]
        items = await agenda_q.items_of_many(session, ids)
        skips = await q.skips_of(session, ids)
        chair = await q.assignments_of(session, ids)
        swaps: dict[int, dict[str, RotationSwap]] = {}
        for swap in await q.accepted_swaps_of(session, ids):
            swaps.setdefault(swap.meeting_id, {})[swap.duty] = swap  # the latest accepted one wins
        people = {r.member_id for r in roster_rows} | {m for d in chair.values() for m in d.values()}
        people |= {s.to_member for d in swaps.values() for s in d.values()}
        people |= {p for r in rows.values() for p in (r.host, r.note_taker) if p}
        names = await members_q.display_names(session, series.workspace_id, people)

        inputs = []
        for occ in occurrences:
            mid = occ.meeting_id
            row = rows.get(mid) if mid is not None else None
            fixed = {HOST: row.host, NOTES: row.note_taker} if row is not None and row.assigned_at else None
            overrides: dict[str, str] = {}
            reasons: dict[str, str] = {}
            for duty in DUTIES:
                accepted = swaps.get(mid or -1, {}).get(duty)
                if duty in chair.get(mid or -1, {}):
                    overrides[duty] = chair[mid or -1][duty]
                    reasons[duty] = "assigned by a chair"
                elif accepted is not None:
                    overrides[duty] = accepted.to_member
                    giver = names.get(accepted.from_member, accepted.from_member.split(":")[-1])
                    reasons[duty] = f"took the turn of {giver} (swap #{accepted.id})"
            authors: dict[str, int] = {}
            for item in items.get(mid or -1, []):
                authors[item.author] = authors.get(item.author, 0) + 1
            decided_at = agenda_deadline(occ.starts_at, series.deadline)
            inputs.append(MeetingInput(
                key=occ.key, decided_at=decided_at,
                cancelled=occ.cancelled or _closed_empty(occ, decided_at, now, bool(authors)),
                fixed=fixed, skips=frozenset(skips.get(mid or -1, set())), overrides=overrides,
                override_reasons=reasons, authors=authors,
            ))
        entries = [RosterEntry(r.member_id, r.duty, r.joined_at, r.left_at, r.id or 0) for r in roster_rows]
        rotation = Rotation.resume(entries, json.loads(saved[1]), names) if saved else Rotation(entries, names)
        # Meetings that have started are settled: their skips, swaps, assignments, agenda and status can
        # no longer change, and roster changes from now on start or end after their deadlines. The
        # standing after them is the checkpoint. (Occurrences are in time order: they are a prefix.)
        settled = sum(1 for occ in occurrences if occ.starts_at <= now)
        assignments = [rotation.step(meeting) for meeting in inputs[:settled]]
        checkpoint = (occurrences[settled - 1].starts_at, json.dumps(rotation.snapshot(), sort_keys=True)) \
            if settled else None
        assignments += [rotation.step(meeting) for meeting in inputs[settled:]]
        return Plan(series, [Planned(o, a) for o, a in zip(occurrences, assignments, strict=True)],
                    {d: rotation.counts(d) for d in DUTIES}, names, checkpoint)

    async def provisional(
        self, session: AsyncSession, series: SeriesInfo, occurrences: list[Occurrence]
    ) -> dict[str, tuple[str | None, str | None]]:
        """The provider ``MeetingService.views`` asks: picks for the shown meetings not fixed yet."""
        wanted = [o for o in occurrences if not o.cancelled]
        if not wanted:
            return {}
        plan = await self.plan(session, series, max(o.starts_at for o in wanted) + timedelta(microseconds=1),
                               since=min(o.starts_at for o in wanted))
        found: dict[str, tuple[str | None, str | None]] = {}
        for occ in wanted:
            planned = plan.find(occ.key)
            if planned is not None and not planned.assignment.fixed:
                found[occ.key] = (planned.assignment.host.member, planned.assignment.notes.member)
        return found

    async def assignment_of(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence) -> Assignment:
        return (await self._plan_of(session, series, occurrence))[1]

    async def _plan_of(self, session: AsyncSession, series: SeriesInfo,
                       occurrence: Occurrence) -> tuple[Plan, Assignment]:
        plan = await self.plan(session, series, occurrence.starts_at + timedelta(microseconds=1),
                               since=occurrence.starts_at)
        planned = plan.find(occurrence.key)
        if planned is None:  # nobody has ever joined: an empty assignment
            _assignments, _ = replay([], [MeetingInput(occurrence.key, occurrence.starts_at,
                                                       cancelled=occurrence.cancelled)])
            return plan, _assignments[0]
        return plan, planned.assignment

    # -- fixing at the deadline ------------------------------------------------------------------
    async def fix_assignment(self, session: AsyncSession, series: SeriesInfo, meeting_row: Meeting) -> None:
        """Compute and record the meeting's host and note-taker, once. Safe to call again (and from
        several replicas): an assignment already fixed is left as it is."""
        if meeting_row.assigned_at is not None or meeting_row.status == "cancelled":
            return
        assert meeting_row.id is not None
        if (meeting_row.status == "scheduled" and not await agenda_q.items_of(session, meeting_row.id)
                and agenda_deadline(meeting_row.starts_at, series.deadline) <= self.clock.now()):
            # Its agenda closed empty: the deadline step cancels it ("no meeting this week"), so it takes
            # no turn. (The step itself only calls this hook for meetings with items.)
            return
        plan, assignment = await self._plan_of(session, series, occurrence_of(meeting_row))
        now = self.clock.now()
        if plan.checkpoint is not None:
            await q.save_checkpoint(session, series.id, *plan.checkpoint, now)
        if await q.fix_meeting(session, meeting_row.id, assignment.host.member, assignment.notes.member, now):
            meeting_row.host, meeting_row.note_taker = assignment.host.member, assignment.notes.member
            meeting_row.assigned_at = now
            await meetings_q.touch_series(session, series.id, now)

    async def fix_due(self) -> int:
        """The ticker job: fix every meeting whose agenda deadline has passed and that is not fixed yet
        (and did not start more than a week ago). Returns how many were fixed."""
        now = self.clock.now()
        fixed = 0
        async with self.db.read() as session:
            series_rows = await meetings_q.all_series(session)
        for row in series_rows:
            series = SeriesInfo.of(row)
            changed = False
            async with self.db.write() as session:
                for occurrence in await self._due(session, series, now):
                    meeting_row = await self.meetings.stored(session, series, occurrence)
                    before = meeting_row.assigned_at
                    await self.fix_assignment(session, series, meeting_row)
                    if before is None and meeting_row.assigned_at is not None:
                        fixed += 1
                        changed = True
            if changed:
                self.meetings.notify_changed(series.id)
        return fixed

    async def _due(self, session: AsyncSession, series: SeriesInfo, now: datetime) -> list[Occurrence]:
        if not await q.roster_of(session, series.id):
            return []
        window = await self.meetings.occurrences(session, series, now - FIX_LOOKBACK, now + series.deadline +
                                                 timedelta(minutes=1))
        return [o for o in window if not o.cancelled and agenda_deadline(o.starts_at, series.deadline) <= now
                and not await _is_fixed(session, o)]

    async def fix_due_in(self, session: AsyncSession, series: SeriesInfo) -> None:
        """Catch up inside a command's transaction, so a command acting on a meeting past its deadline
        sees the fixed assignment even when no ticker runs (the console)."""
        for occurrence in await self._due(session, series, self.clock.now()):
            await self.fix_assignment(session, series, await self.meetings.stored(session, series, occurrence))

    # -- rosters -------------------------------------------------------------------------------
    async def join(self, actor: Actor, duty: str, slug: str | None) -> SeriesInfo:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug)
            await self.fix_due_in(session, series)
            if await q.current_stint(session, series.id, duty, actor.member_id) is not None:
                raise Conflict(f"You are already on the {DUTY_WORDS[duty]} roster of {series.name}; "
                               f"/rotation show lists it.")
            await q.add_stint(session, series.id, duty, actor.member_id, now)
            await meetings_q.touch_series(session, series.id, now)
        self.meetings.notify_changed(series.id)
        return series

    async def leave(self, actor: Actor, duty: str, slug: str | None) -> SeriesInfo:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug)
            await self.fix_due_in(session, series)
            stint = await q.current_stint(session, series.id, duty, actor.member_id)
            if stint is None:
                raise Conflict(f"You are not on the {DUTY_WORDS[duty]} roster of {series.name}, so there is "
                               f"nothing to leave; /rotation join {duty} adds you.")
            stint.left_at = now
            await meetings_q.touch_series(session, series.id, now)
        self.meetings.notify_changed(series.id)
        return series

    async def show(self, workspace_id: str, slug: str | None) -> RotationView:
        async with self.db.read() as session:
            series = await self.meetings.series_in(session, workspace_id, slug)
            upcoming = await self.meetings.upcoming_in(session, series, SHOW_UPCOMING)
            until = (max(o.starts_at for o in upcoming) if upcoming else self.clock.now()) + timedelta(microseconds=1)
            plan = await self.plan(session, series, until, since=min((o.starts_at for o in upcoming), default=None))
            # Turns served: meetings that have started, not the provisional picks ahead.
            served = (await self.plan(session, series, self.clock.now())).counts
            roster_rows = await q.roster_of(session, series.id)
            rosters: dict[str, list[RosterLine]] = {d: [] for d in DUTIES}
            for r in roster_rows:
                if r.left_at is None and all(x.member != r.member_id for x in rosters[r.duty]):
                    rosters[r.duty].append(RosterLine(r.member_id, plan.name(r.member_id),
                                                      served[r.duty].get(r.member_id, 0)))
            ids = [o.meeting_id for o in upcoming if o.meeting_id is not None]
            skips = await q.skips_of(session, ids)
            lines = []
            for occ in upcoming:
                planned = plan.find(occ.key)
                assignment = planned.assignment if planned else (await self.assignment_of(session, series, occ))
                skipped = sorted(plan.name(m) for m in skips.get(occ.meeting_id or -1, set()))
                lines.append((occ, assignment, skipped))
            swaps = []
            now = self.clock.now()
            for swap in await q.swaps_of_series(session, series.id, "proposed"):
                meeting_row = await meetings_q.meeting_by_id(session, swap.meeting_id)
                if meeting_row is None or meeting_row.starts_at <= now:
                    continue
                swaps.append(await self._swap_info(session, series, swap, meeting_row))
        return RotationView(series, rosters, lines, swaps, plan.names)

    async def _swap_info(self, session: AsyncSession, series: SeriesInfo, swap: RotationSwap,
                         meeting_row: Meeting) -> SwapInfo:
        names = await members_q.display_names(session, series.workspace_id, [swap.from_member, swap.to_member])
        local = occurrence_of(meeting_row).starts_at
        from zoneinfo import ZoneInfo

        assert swap.id is not None
        return SwapInfo(swap.id, local.astimezone(ZoneInfo(series.timezone)).date(), swap.duty,
                        names.get(swap.from_member, swap.from_member.split(":")[-1]),
                        names.get(swap.to_member, swap.to_member.split(":")[-1]), swap.status)

    # -- availability -------------------------------------------------------------------------
    async def _upcoming_on(self, session: AsyncSession, series: SeriesInfo, day: date, what: str) -> Occurrence:
        occurrence = await self.meetings.meeting_on(session, series, day)
        if occurrence.starts_at <= self.clock.now():
            raise Conflict(f"The meeting of {format_home(occurrence.starts_at, series.timezone)} has already "
                           f"started: you can only {what} upcoming meetings.")
        if occurrence.cancelled:
            raise Conflict(f"The meeting of {format_home(occurrence.starts_at, series.timezone)} is cancelled, "
                           f"so there is no turn to {what}.")
        return occurrence

    async def skip(self, actor: Actor, day: date, slug: str | None) -> tuple[SeriesInfo, Occurrence]:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug)
            await self.fix_due_in(session, series)
            occurrence = await self._upcoming_on(session, series, day, "skip")
            if not any([await q.current_stint(session, series.id, d, actor.member_id) for d in DUTIES]):
                raise Conflict(f"You are not on the host or notes roster of {series.name}, so you are never picked "
                               "and there is nothing to skip.")
            meeting_row = await self.meetings.stored(session, series, occurrence)
            assert meeting_row.id is not None
            if meeting_row.assigned_at is not None and actor.member_id in (meeting_row.host, meeting_row.note_taker):
                duty = HOST if meeting_row.host == actor.member_id else NOTES
                raise Conflict(
                    f"You were fixed as {DUTY_WORDS[duty]} of {format_home(occurrence.starts_at, series.timezone)} at "
                    f"its agenda deadline: ask someone to take it with /rotation swap {day} @member, or ask a chair."
                )
            if not await q.add_skip(session, meeting_row.id, actor.member_id, now):
                raise Conflict(f"You already skip {format_home(occurrence.starts_at, series.timezone)}.")
            await meetings_q.touch_series(session, series.id, now)
        self.meetings.notify_changed(series.id)
        return series, occurrence

    async def swap(self, actor: Actor, day: date, target: str, slug: str | None) -> SwapInfo:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug)
            await self.fix_due_in(session, series)
            occurrence = await self._upcoming_on(session, series, day, "swap")
            assignment = await self.assignment_of(session, series, occurrence)
            when = format_home(occurrence.starts_at, series.timezone)
            duties = [d for d in DUTIES if assignment.member(d) == actor.member_id]
            if not duties:
                raise Conflict(f"You are neither host nor note-taker of {when}, so you have no turn to swap; "
                               "/rotation show lists who is.")
            duty = duties[0]
            if target == actor.member_id:
                raise InvalidInput("You cannot swap with yourself: mention the member who takes your turn.")
            if await q.current_stint(session, series.id, duty, target) is None:
                raise NotFound(f"{target.split(':')[-1]} is not on the {DUTY_WORDS[duty]} roster of {series.name}: "
                               f"swap with someone on it (/rotation show), or they join with /rotation join {duty}.")
            other = NOTES if duty == HOST else HOST
            if assignment.member(other) == target:
                raise Conflict(f"{target.split(':')[-1]} is already {DUTY_WORDS[other]} of {when}; the host and "
                               "the note-taker must be two people.")
            meeting_row = await self.meetings.stored(session, series, occurrence)
            assert meeting_row.id is not None
            same = [s for s in await q.swaps_of_series(session, series.id, "proposed")
                    if (s.meeting_id, s.duty, s.from_member, s.to_member) == (meeting_row.id, duty, actor.member_id,
                                                                                target)]
            if same:  # the same offer again (a retried command): the open one stands, nobody is asked twice
                return await self._swap_info(session, series, same[0], meeting_row)
            swap = await q.add_swap(session, RotationSwap(
                series_id=series.id, meeting_id=meeting_row.id, duty=duty, from_member=actor.member_id,
                to_member=target, status="proposed", created_at=now))
            info = await self._swap_info(session, series, swap, meeting_row)
            await self._dm(
                session, series, meeting_row, target, key=f"rotation:swap:{info.id}:proposed",
                title=f"{info.from_name} asks you to take their turn",
                text=(f"{info.from_name} asks you to be {DUTY_WORDS[duty]} of {meeting_row.name or series.name} "
                      f"instead of them.\nAccept with /rotation accept #{info.id} (only you can); if you "
                      "can't, just leave it."),
                data={"swap": info.id, "duty": duty})
        self.outbox.written()
        return info

    async def accept(self, actor: Actor, swap_id: int) -> tuple[SwapInfo, SeriesInfo]:
        now = self.clock.now()
        async with self.db.write() as session:
            swap = await q.get_swap(session, swap_id)
            series_row = await meetings_q.series_by_id(session, swap.series_id) if swap else None
            if swap is None or series_row is None or series_row.workspace_id != actor.workspace_id:
                raise NotFound(f"There is no swap #{swap_id}: /rotation show lists the open ones.")
            series = SeriesInfo.of(series_row)
            await self.fix_due_in(session, series)
            meeting_row = await meetings_q.meeting_by_id(session, swap.meeting_id)
            assert meeting_row is not None
            info = await self._swap_info(session, series, swap, meeting_row)
            if swap.to_member != actor.member_id:
                raise PermissionDenied(f"Swap #{swap_id} was offered to {info.to_name}, not to you: only they can "
                                       "accept it.")
            if swap.status != "proposed":
                raise Conflict(f"Swap #{swap_id} was already {swap.status}.")
            occurrence = occurrence_of(meeting_row)
            when = format_home(occurrence.starts_at, series.timezone)
            if occurrence.starts_at <= now or occurrence.cancelled:
                raise Conflict(f"The meeting of {when} has started or was cancelled: the swap no longer applies.")
            assignment = await self.assignment_of(session, series, occurrence)
            if assignment.member(swap.duty) != swap.from_member:
                raise Conflict(f"{info.from_name} is no longer {DUTY_WORDS[swap.duty]} of {when} (it is now "
                               f"{assignment.pick(swap.duty).reason.split(':')[0]}), so the swap no longer applies.")
            other = NOTES if swap.duty == HOST else HOST
            if assignment.member(other) == actor.member_id:
                raise Conflict(f"You are already {DUTY_WORDS[other]} of {when}: the host and the note-taker must be "
                               "two people.")
            swap.status, swap.decided_at = "accepted", now
            if meeting_row.assigned_at is not None:
                _set_duty(meeting_row, swap.duty, actor.member_id, now)
            await meetings_q.touch_series(session, series.id, now)
            info = await self._swap_info(session, series, swap, meeting_row)
            await self._dm(
                session, series, meeting_row, swap.from_member, key=f"rotation:swap:{info.id}:accepted",
                title=f"{info.to_name} accepted swap #{info.id}",
                text=(f"{info.to_name} accepted your swap #{info.id}: they are {DUTY_WORDS[swap.duty]} of "
                      f"{meeting_row.name or series.name} instead of you."),
                data={"swap": info.id, "duty": swap.duty})
        self.meetings.notify_changed(series.id)
        self.outbox.written()
        return info, series

    async def assign(self, actor: Actor, day: date, duty: str, member: str, slug: str | None) -> Occurrence:
        """A chair gives a turn directly; it beats the fair pick and swaps, even once fixed."""
        require_chair(actor, "assign a host or note-taker", self.settings.chair_roles)
        return await self._take(actor, day, duty, member, slug, volunteer=False)

    async def volunteer(self, actor: Actor, day: date, duty: str, slug: str | None) -> Occurrence:
        """A roster member takes a turn themselves before it is fixed (SPEC: "volunteer"); the member the
        fair pick had provisionally chosen simply keeps their place in the rotation."""
        return await self._take(actor, day, duty, actor.member_id, slug, volunteer=True)

    async def _take(self, actor: Actor, day: date, duty: str, member: str, slug: str | None, *,
                    volunteer: bool) -> Occurrence:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug)
            await self.fix_due_in(session, series)
            occurrence = await self._upcoming_on(session, series, day, "volunteer for" if volunteer else "assign")
            assignment = await self.assignment_of(session, series, occurrence)
            when = format_home(occurrence.starts_at, series.timezone)
            if volunteer:
                if await q.current_stint(session, series.id, duty, member) is None:
                    raise Conflict(f"Only members of the {DUTY_WORDS[duty]} roster can volunteer: "
                                   f"/rotation join {duty} adds you.")
                if assignment.member(duty) == member:
                    raise Conflict(f"You are already {DUTY_WORDS[duty]} of {when}.")
                if await _is_fixed(session, occurrence):
                    raise Conflict(f"The {DUTY_WORDS[duty]} of {when} is already fixed: ask them to offer you the "
                                   f"turn with /rotation swap {day} @you, or ask a chair.")
            other = NOTES if duty == HOST else HOST
            if assignment.member(other) == member:
                remedy = "offer that turn to someone first" if volunteer else f"assign the {DUTY_WORDS[other]} first"
                raise Conflict(
                    f"{member.split(':')[-1]} is {DUTY_WORDS[other]} of {when}: the host and the note-taker must "
                    f"be two people; {remedy}."
                )
            meeting_row = await self.meetings.stored(session, series, occurrence)
            assert meeting_row.id is not None
            await q.set_assignment(session, meeting_row.id, duty, member, actor.member_id, now)
            if meeting_row.assigned_at is not None:
                _set_duty(meeting_row, duty, member, now)
            await meetings_q.touch_series(session, series.id, now)
            if member != actor.member_id and assignment.member(duty) != member:
                # Keyed by meeting, duty and member: assigning the same member again tells them nothing new.
                await self._dm(
                    session, series, meeting_row, member, key=f"rotation:assign:{meeting_row.id}:{duty}:{member}",
                    title=f"You are {DUTY_WORDS[duty]} of {meeting_row.name or series.name}",
                    text=(f"{actor.display_name} (a chair) assigned you as {DUTY_WORDS[duty]} of "
                          f"{meeting_row.name or series.name}. If you can't make it, offer the turn to someone "
                          f"with /rotation swap {day} @member."),
                    data={"duty": duty})
        self.meetings.notify_changed(series.id)
        self.outbox.written()
        return occurrence

    async def _dm(self, session: AsyncSession, series: SeriesInfo, meeting_row: Meeting, member: str, *, key: str,
                  title: str, text: str, data: dict[str, object]) -> None:
        """A rotation DM, written in the caller's transaction under ``key`` (so once). It names the meeting's
        time in the home zone and in the member's own zone (``/me tz``), and is pointless once it started."""
        rows = await members_q.members_of(session, series.workspace_id, [member])
        zone = member_zone(rows[0].timezone if rows else None)
        when = format_zone_line(meeting_row.starts_at, series.timezone, (zone,))
        await self.outbox.enqueue(
            session, key=key, workspace_id=series.workspace_id, kind="dm", target=member,
            reply=Reply(text=f"{text}\nWhen: {when}", ephemeral=False, title=title, kind="rotation",
                        moments=(meeting_row.starts_at,),
                        data={**data, "series": series.slug, "meeting": meeting_row.id}),
            fallback_channel=series.channel, expires_at=meeting_row.starts_at)


def _set_duty(meeting_row: Meeting, duty: str, member: str, now: datetime) -> None:
    if duty == HOST:
        meeting_row.host = member
    else:
        meeting_row.note_taker = member
    meeting_row.updated_at = now


async def _is_fixed(session: AsyncSession, occurrence: Occurrence) -> bool:
    if occurrence.meeting_id is None:
        return False
    row = await meetings_q.meeting_by_id(session, occurrence.meeting_id)
    return row is not None and row.assigned_at is not None


def _closed_empty(occurrence: Occurrence, decided_at: datetime, now: datetime, has_items: bool) -> bool:
    """A meeting whose agenda closed with no items: the deadline step cancels it, so the replay treats it
    as cancelled even before the step has run (the console, or the seconds before the next tick)."""
    return occurrence.status == "scheduled" and decided_at <= now and not has_items
