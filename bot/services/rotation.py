"""Rotation planning: who hosts and takes notes at each meeting, the provisional picks shown before a
meeting's agenda deadline, fixing the assignment at that deadline, and ``/rotation show``. The
requests that change the rotation (rosters, skips, swaps, a chair's assignment) are in
``bot.services.rotation_requests``.

Every answer comes from one replay of the series' meetings through ``bot.rules.rotation``: fixed
meetings count as they were fixed, later ones as the rule would pick them now. So what
``/meeting next`` shows, what ``/rotation show`` explains and what gets fixed at the deadline agree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.rules.meetings import Occurrence
from bot.rules.rotation import (
    DUTIES,
    HOST,
    NOTES,
    Assignment,
    MeetingInput,
    RosterEntry,
    Rotation,
    replay,
)
from bot.rules.time import agenda_deadline
from bot.services.meetings import MeetingService
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
class PlannedMeeting:
    """One meeting of the replay: its occurrence, its assignment and whether it is fixed."""

    occurrence: Occurrence
    assignment: Assignment


@dataclass(frozen=True)
class RotationPlan:
    series: SeriesInfo
    meetings: list[PlannedMeeting]
    counts: dict[str, dict[str, int]]  # duty -> member -> turns served
    names: dict[str, str]
    # (through_at, state JSON): the replay's standing after the last meeting it replayed that has
    # started; kept by the deadline step so that later replays resume from there.
    checkpoint: tuple[datetime, str] | None = None

    def find(self, key: str) -> PlannedMeeting | None:
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


@dataclass(frozen=True)
class SwapInfo:
    id: int
    local_date: date
    duty: str
    from_name: str
    to_name: str
    status: str
    number: int = 0  # the number members type (#3), per workspace; ``id`` is the stable id


async def swap_info(session: AsyncSession, series: SeriesInfo, swap: RotationSwap, meeting_row: Meeting) -> SwapInfo:
    """A swap as shown: the meeting's date in the home zone and both members' display names."""
    names = await members_q.display_names(session, series.workspace_id, [swap.from_member, swap.to_member])
    local = occurrence_of(meeting_row).starts_at
    assert swap.id is not None
    return SwapInfo(swap.id, local.astimezone(ZoneInfo(series.timezone)).date(), swap.duty,
                    names.get(swap.from_member, swap.from_member.split(":")[-1]),
                    names.get(swap.to_member, swap.to_member.split(":")[-1]), swap.status, swap.number or 0)


class RotationService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings

    # -- the replay ---------------------------------------------------------------------------
    async def plan(self, session: AsyncSession, series: SeriesInfo, until: datetime, since: datetime | None = None,
                   *, checkpoints: bool = True) -> RotationPlan:
        """The series' meetings up to ``until`` (exclusive) with their assignments, and the turns served
        by then. ``RotationPlan.meetings`` holds at least every meeting from ``since`` (default: ``until``) on.

        The replay resumes from the latest checkpoint before ``since`` (see ``RotationCheckpoint``), so
        its cost follows the weeks since the last fixed meeting, not the series' age; with
        ``checkpoints=False`` it replays from the rotation's start (the tests compare the two)."""
        now = self.clock.now()
        start = await q.rotation_start(session, series.id)
        if start is None:  # nobody has joined and nothing was fixed: one query, as most views need
            return RotationPlan(series, [], {d: {} for d in DUTIES}, {})
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
                    reasons[duty] = f"took the turn of {giver} (swap #{accepted.number})"
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
        return RotationPlan(series, [PlannedMeeting(o, a) for o, a in zip(occurrences, assignments, strict=True)],
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
                       occurrence: Occurrence) -> tuple[RotationPlan, Assignment]:
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
                and not await self.is_fixed(session, o)]

    async def is_fixed(self, session: AsyncSession, occurrence: Occurrence) -> bool:
        if occurrence.meeting_id is None:
            return False
        row = await meetings_q.meeting_by_id(session, occurrence.meeting_id)
        return row is not None and row.assigned_at is not None

    async def fix_due_in(self, session: AsyncSession, series: SeriesInfo) -> None:
        """Catch up inside a command's transaction, so a command acting on a meeting past its deadline
        sees the fixed assignment even when no ticker runs (the console)."""
        for occurrence in await self._due(session, series, self.clock.now()):
            await self.fix_assignment(session, series, await self.meetings.stored(session, series, occurrence))

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
                swaps.append(await swap_info(session, series, swap, meeting_row))
        return RotationView(series, rosters, lines, swaps, plan.names)


def _closed_empty(occurrence: Occurrence, decided_at: datetime, now: datetime, has_items: bool) -> bool:
    """A meeting whose agenda closed with no items: the deadline step cancels it, so the replay treats it
    as cancelled even before the step has run (the console, or the seconds before the next tick)."""
    return occurrence.status == "scheduled" and decided_at <= now and not has_items
