"""Rotation requests: joining and leaving a roster, skipping a meeting, offering a turn to someone and
accepting it, a chair's direct assignment and a member volunteering. Each checks the request against
the current plan (``RotationService``, handed in by the composition root, bot/app.py) and records it;
the DMs it causes are written to the outbox in the same transaction (docs/rotation.md)."""

from __future__ import annotations

from datetime import date, datetime

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.rules.meetings import Occurrence
from bot.rules.rotation import DUTIES, DUTY_WORDS, HOST, NOTES
from bot.rules.time import format_home, format_zone_line, member_zone
from bot.services.meetings import MeetingService, require_chair
from bot.services.outbox import Outbox
from bot.services.rotation import RotationService, SwapInfo, swap_info
from bot.services.views import SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.models import Meeting, RotationSwap
from storage.queries import meetings as meetings_q
from storage.queries import members as members_q
from storage.queries import numbers as numbers_q
from storage.queries import rotation as q


class RotationRequests:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService,
                 planning: RotationService, outbox: Outbox) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        # Every request first catches up on fixing due assignments and reads the current picks from here.
        self.planning = planning
        self.outbox = outbox

    # -- rosters -------------------------------------------------------------------------------
    async def join(self, actor: Actor, duty: str, slug: str | None) -> SeriesInfo:
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await self.planning.fix_due_in(session, series)
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
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await self.planning.fix_due_in(session, series)
            stint = await q.current_stint(session, series.id, duty, actor.member_id)
            if stint is None:
                raise Conflict(f"You are not on the {DUTY_WORDS[duty]} roster of {series.name}, so there is "
                               f"nothing to leave; /rotation join {duty} adds you.")
            stint.left_at = now
            await meetings_q.touch_series(session, series.id, now)
        self.meetings.notify_changed(series.id)
        return series

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
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await self.planning.fix_due_in(session, series)
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
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await self.planning.fix_due_in(session, series)
            occurrence = await self._upcoming_on(session, series, day, "swap")
            assignment = await self.planning.assignment_of(session, series, occurrence)
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
                return await swap_info(session, series, same[0], meeting_row)
            swap = await q.add_swap(session, RotationSwap(
                series_id=series.id, workspace_id=series.workspace_id, meeting_id=meeting_row.id, duty=duty,
                from_member=actor.member_id,
                to_member=target, status="proposed", created_at=now))
            info = await swap_info(session, series, swap, meeting_row)
            await self._dm(
                session, series, meeting_row, target, key=f"rotation:swap:{info.id}:proposed",
                title=f"{info.from_name} asks you to take their turn",
                text=(f"{info.from_name} asks you to be {DUTY_WORDS[duty]} of {meeting_row.name or series.name} "
                      f"instead of them.\nAccept with /rotation accept #{info.number} (only you can); if you "
                      "can't, just leave it."),
                data={"swap": info.id, "duty": duty})
        self.outbox.written()
        return info

    async def accept(self, actor: Actor, swap_id: int) -> tuple[SwapInfo, SeriesInfo]:
        """Accept the swap a member named ``#swap_id``: its number in the workspace."""
        now = self.clock.now()
        async with self.db.write() as session:
            found = await numbers_q.id_of_number(session, actor.workspace_id, "rotationswap", swap_id)
            swap = await q.get_swap(session, found) if found is not None else None
            series_row = await meetings_q.series_by_id(session, swap.series_id) if swap else None
            if swap is None or series_row is None or series_row.workspace_id != actor.workspace_id:
                raise NotFound(f"There is no swap #{swap_id}: /rotation show lists the open ones.")
            series = SeriesInfo.of(series_row)
            await self.planning.fix_due_in(session, series)
            meeting_row = await meetings_q.meeting_by_id(session, swap.meeting_id)
            assert meeting_row is not None
            info = await swap_info(session, series, swap, meeting_row)
            if swap.to_member != actor.member_id:
                raise PermissionDenied(f"Swap #{swap_id} was offered to {info.to_name}, not to you: only they can "
                                       "accept it.")
            if swap.status != "proposed":
                raise Conflict(f"Swap #{swap_id} was already {swap.status}.")
            occurrence = occurrence_of(meeting_row)
            when = format_home(occurrence.starts_at, series.timezone)
            if occurrence.starts_at <= now or occurrence.cancelled:
                raise Conflict(f"The meeting of {when} has started or was cancelled: the swap no longer applies.")
            assignment = await self.planning.assignment_of(session, series, occurrence)
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
            info = await swap_info(session, series, swap, meeting_row)
            await self._dm(
                session, series, meeting_row, swap.from_member, key=f"rotation:swap:{info.id}:accepted",
                title=f"{info.to_name} accepted swap #{info.number}",
                text=(f"{info.to_name} accepted your swap #{info.number}: they are {DUTY_WORDS[swap.duty]} of "
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
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await self.planning.fix_due_in(session, series)
            occurrence = await self._upcoming_on(session, series, day, "volunteer for" if volunteer else "assign")
            assignment = await self.planning.assignment_of(session, series, occurrence)
            when = format_home(occurrence.starts_at, series.timezone)
            if volunteer:
                if await q.current_stint(session, series.id, duty, member) is None:
                    raise Conflict(f"Only members of the {DUTY_WORDS[duty]} roster can volunteer: "
                                   f"/rotation join {duty} adds you.")
                if assignment.member(duty) == member:
                    raise Conflict(f"You are already {DUTY_WORDS[duty]} of {when}.")
                if await self.planning.is_fixed(session, occurrence):
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


