"""Meeting use cases: series, upcoming meetings, one-offs, cancel and restore."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.rules.meetings import Occurrence, as_settled, extra_key, plan, regular_key
from bot.rules.parsing import format_duration, parse_duration
from bot.rules.time import ONE_OFFS_ONLY, WeeklyRule, agenda_deadline, format_home, refuse_gap, strict_instant
from bot.services.views import AgendaEntry, MeetingView, SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.models import Meeting, Series
from storage.queries import agenda as agenda_q
from storage.queries import meetings as q
from storage.queries import members as members_q
from storage.queries import numbers as numbers_q
from storage.records import AgendaItemRecord

ONE_OFFS_SLUG = "meetings"  # the series of one-offs created by /meeting add in a workspace with no series
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
FORUM_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
HORIZON = timedelta(days=5 * 366)  # how far ahead "the next meeting" is searched
MAX_DEADLINE = timedelta(days=14)
MAX_MEETING_DURATION = timedelta(hours=12)

ChangeListener = Callable[[int], None]
# Called in the transaction of a cancel or restore, after the meeting row changed: (session, series, row,
# previous status). The status notices (bot/services/meeting_status.py) announce it when it comes late.
StatusHook = Callable[[AsyncSession, SeriesInfo, Meeting, str], Awaitable[None]]
# Given the meetings about to be shown, the (host, note-taker) pick of each one whose assignment is not
# fixed yet, by occurrence key. Registered by the rotation service; shown marked "(provisional)".
AssignmentProvider = Callable[
    [AsyncSession, SeriesInfo, list[Occurrence]], Awaitable[dict[str, tuple[str | None, str | None]]]
]


class MeetingService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self._listeners: list[ChangeListener] = []
        self._assignment_provider: AssignmentProvider | None = None
        self.status_hooks: list[StatusHook] = []

    def set_assignment_provider(self, provider: AssignmentProvider) -> None:
        """Where views get the provisional host and note-taker of meetings not fixed yet."""
        self._assignment_provider = provider

    # -- change notification (the calendar cache listens) ------------------------------------
    def on_series_changed(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def notify_changed(self, series_id: int) -> None:
        for listener in self._listeners:
            listener(series_id)

    # -- series ----------------------------------------------------------------------------
    async def create_series(
        self,
        actor: Actor,
        *,
        slug: str,
        name: str,
        weekday: int,
        local_time: time,
        timezone: str,
        duration: timedelta = timedelta(minutes=60),
        deadline: timedelta = timedelta(hours=24),
        zones: tuple[str, ...] | None = None,
        start: date | None = None,
        channel: str | None = None,
        link_hosts: tuple[str, ...] | None = None,
        forum_category: str | None = None,
        published_before: str | None = None,
    ) -> SeriesInfo:
        require_chair(actor, "create a series", self.settings.chair_roles)
        forum = forum_fields(forum_category, published_before)
        if not SLUG.match(slug) or not any(ch.isalpha() for ch in slug):
            raise InvalidInput(
                f"'{slug}' cannot be a series slug: use 2-40 lowercase letters, digits and dashes (at least one "
                "letter), for example slug=community."
            )
        if duration > MAX_MEETING_DURATION:
            raise InvalidInput(f"duration={format_duration(duration)} is too long: a meeting may last at most 12h.")
        if deadline > MAX_DEADLINE:
            raise InvalidInput(
                f"deadline={format_duration(deadline)} is too long: the agenda may close at most 14d ahead."
            )
        now = self.clock.now()
        first = start or first_open_date(
            WeeklyRule(weekday, local_time, timezone, now.astimezone(ZoneInfo(timezone)).date()), deadline, now)
        refuse_gap(WeeklyRule(weekday, local_time, timezone, first))  # before anything is written
        display = zones if zones is not None else self.settings.default_display_zones
        row = Series(
            workspace_id=actor.workspace_id, slug=slug, name=name, weekday=weekday,
            local_time=f"{local_time:%H:%M}", timezone=timezone, start_date=first,
            duration_minutes=int(duration.total_seconds() // 60),
            deadline_minutes=int(deadline.total_seconds() // 60),
            display_zones=",".join(display), link_hosts=",".join(link_hosts or self.settings.allowed_link_hosts),
            channel=channel, created_by=actor.member_id, created_at=now, updated_at=now, feed_name=slug, **forum,
        )
        async with self.db.write() as session:
            if not await q.insert_series(session, row):
                raise Conflict(f"This workspace already has a series named '{slug}': choose another slug=.")
            stored = await q.series_by_slug(session, actor.workspace_id, slug)
            assert stored is not None and stored.id is not None
        self.notify_changed(stored.id)
        return SeriesInfo.of(stored)

    async def edit_series(self, actor: Actor, slug: str, *, forum_category: str | None = None,
                          published_before: str | None = None) -> SeriesInfo:
        """``/meeting series edit``: the forum settings of a series (docs/forum.md)."""
        require_chair(actor, "edit a series", self.settings.chair_roles)
        if forum_category is None and published_before is None:
            raise InvalidInput("Nothing to change: give forum_category=<slug or id|off> or published_before=<24h|off>, "
                               "for example /meeting series edit tvm forum_category=meetings.")
        values = forum_fields(forum_category, published_before)
        async with self.db.write() as session:
            series = await self.series_in(session, actor.workspace_id, slug)
            await q.update_series(session, series.id, values, self.clock.now())
            stored = await q.series_by_id(session, series.id)
            assert stored is not None
        self.notify_changed(series.id)
        return SeriesInfo.of(stored)

    async def list_series(self, workspace_id: str) -> list[SeriesInfo]:
        async with self.db.read() as session:
            rows = await q.series_of_workspace(session, workspace_id)
        return [SeriesInfo.of(r) for r in rows]

    async def resolve_series(self, workspace_id: str, slug: str | None) -> SeriesInfo:
        async with self.db.read() as session:
            return await self.series_in(session, workspace_id, slug)

    async def series_in(
        self, session: AsyncSession, workspace_id: str, slug: str | None, *, channel: str | None = None
    ) -> SeriesInfo:
        """The series a command acts on: the one named ``slug`` in the workspace; else its only series;
        else, with several, the series whose channel the command was typed in, then the workspace's
        default (``/meeting series default``); else a question listing the choices (changes nothing)."""
        if slug:
            row = await q.series_by_slug(session, workspace_id, slug)
            if row is None:
                names = [s.slug for s in await q.series_of_workspace(session, workspace_id)]
                known = f" This workspace has: {', '.join(names)}." if names else (
                    " This workspace has no series yet: a chair creates one with /meeting series create.")
                # Often not meant as a series at all: the last word of a text typed without quotes
                # (/notes add hello world). Saying so is the fix the member needs.
                raise NotFound(f"There is no series '{slug}'.{known} If '{slug}' is part of your text, put the "
                               "whole text in quotes.")
            return SeriesInfo.of(row)
        rows = await q.series_of_workspace(session, workspace_id)
        if not rows:
            raise NotFound(
                "This workspace has no meeting series yet: a chair creates one with "
                "/meeting series create slug=community name=\"Community meeting\" weekday=wed time=08:00 "
                "tz=America/Los_Angeles."
            )
        if len(rows) == 1:
            return SeriesInfo.of(rows[0])
        here = channel_name(channel)
        in_channel = [r for r in rows if here and channel_name(r.channel) == here]
        if len(in_channel) == 1:
            return SeriesInfo.of(in_channel[0])
        default = await q.default_series_id(session, workspace_id)
        chosen = next((r for r in rows if r.id == default), None)
        if chosen is not None:
            return SeriesInfo.of(chosen)
        raise InvalidInput(
            f"Which series? This workspace has several ({', '.join(r.slug for r in rows)}): name one, for "
            f"example series={rows[0].slug}, type the command in a series' channel, or ask a chair to set "
            f"a default with /meeting series default {rows[0].slug}."
        )

    async def set_default_series(self, actor: Actor, slug: str) -> SeriesInfo:
        """The series write commands use when they name none and are not typed in a series' channel."""
        require_chair(actor, "choose the default series", self.settings.chair_roles)
        async with self.db.write() as session:
            series = await self.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            await q.set_default_series(session, actor.workspace_id, series.id)
        return series

    async def all_series_in(self, session: AsyncSession, workspace_id: str) -> list[SeriesInfo]:
        """Every series of the workspace; NotFound (saying how to create one) when there is none."""
        rows = await q.series_of_workspace(session, workspace_id)
        if not rows:
            await self.series_in(session, workspace_id, None)  # raises the "no series yet" answer
        return [SeriesInfo.of(r) for r in rows]

    # -- meetings --------------------------------------------------------------------------
    async def occurrences(
        self, session: AsyncSession, series: SeriesInfo, start: datetime, end: datetime
    ) -> list[Occurrence]:
        stored = [occurrence_of(m) for m in await q.meetings_between(session, series.id, start, end)]
        return plan(series.rule, series.duration, stored, start, end)

    async def upcoming_in(
        self, session: AsyncSession, series: SeriesInfo, count: int, *, include_cancelled: bool = True,
        after: datetime | None = None,
    ) -> list[Occurrence]:
        """The next ``count`` meetings that have not started yet."""
        now = after or self.clock.now()
        found: list[Occurrence] = []
        window = timedelta(days=max(28, 8 * count))
        start = now + timedelta(microseconds=1)
        while len(found) < count and start < now + HORIZON:
            end = start + window
            for meeting in await self.occurrences(session, series, start, end):
                if include_cancelled or not meeting.cancelled:
                    found.append(meeting)
            start = end
        return found[:count]

    async def views(
        self, session: AsyncSession, series: SeriesInfo, meetings: list[Occurrence],
        items: Mapping[int, Sequence[AgendaItemRecord]] | None = None,
    ) -> list[MeetingView]:
        """The meetings as shown, with their agendas (``items`` when the caller has just read them)."""
        if items is None:
            items = await agenda_q.items_of_many(session, [m.meeting_id for m in meetings if m.meeting_id is not None])
        # Past meetings read as held or cancelled even if no tick ran at their start (an outage).
        now = self.clock.now()
        meetings = [as_settled(m, bool(items.get(m.meeting_id or -1)), now) for m in meetings]
        provisional = await self._assignment_provider(session, series, meetings) if self._assignment_provider else {}
        meetings = [replace(m, host=provisional[m.key][0], note_taker=provisional[m.key][1])
                    if m.key in provisional else m for m in meetings]
        people = {p for m in meetings for p in (m.host, m.note_taker) if p}
        names = await members_q.display_names(session, series.workspace_id, people)
        return [
            MeetingView(
                series, m,
                tuple(AgendaEntry.of(i) for i in items.get(m.meeting_id, [])) if m.meeting_id else (),
                tuple(sorted(names.items())),
                provisional=m.key in provisional,
            )
            for m in meetings
        ]

    async def upcoming(self, workspace_id: str, slug: str | None, count: int) -> list[MeetingView]:
        """The next ``count`` meetings of the series named, or of every series of the workspace (soonest
        first) when none is named: reading never needs to ask which series."""
        async with self.db.read() as session:
            chosen = [await self.series_in(session, workspace_id, slug)] if slug else \
                await self.all_series_in(session, workspace_id)
            found: list[tuple[SeriesInfo, Occurrence]] = []
            for series in chosen:
                found += [(series, m) for m in await self.upcoming_in(session, series, count)]
            found = sorted(found, key=lambda pair: (pair[1].starts_at, pair[0].slug))[:count]
            views: list[MeetingView] = []
            for series in chosen:
                views += await self.views(session, series, [m for s, m in found if s.id == series.id])
            return sorted(views, key=lambda v: (v.starts_at, v.series.slug))

    async def next_meeting(self, workspace_id: str, slug: str | None) -> tuple[MeetingView, list[MeetingView]]:
        """The next meeting that is not cancelled (of the series named, else the soonest of every series),
        and any cancelled ones of its series before it."""
        async with self.db.read() as session:
            chosen = [await self.series_in(session, workspace_id, slug)] if slug else \
                await self.all_series_in(session, workspace_id)
            best: tuple[SeriesInfo, Occurrence, list[Occurrence]] | None = None
            for series in chosen:
                skipped: list[Occurrence] = []
                for meeting in await self.upcoming_in(session, series, 12):
                    if not meeting.cancelled:
                        if best is None or meeting.starts_at < best[1].starts_at:
                            best = (series, meeting, skipped)
                        break
                    skipped.append(meeting)
            if best is None:
                names = " or ".join(s.name for s in chosen)
                raise NotFound(f"{names} has no meeting that is not cancelled in the next 12.")
            series, meeting, skipped = best
            views = await self.views(session, series, [meeting, *skipped])
            return views[0], views[1:]

    async def meeting_on(self, session: AsyncSession, series: SeriesInfo, day: date) -> Occurrence:
        """The meeting of the series on a local date: its date in the home zone, or, for a one-off, also
        the date the chair typed in its own zone (``/meeting add 2026-03-12T09:00 tz=Asia/Kolkata`` is
        on 2026-03-11 in Los Angeles, and reachable as either)."""
        zone = ZoneInfo(series.timezone)
        # A day either side: zones are up to 26 h apart, so a one-off's own date can be the next or last.
        start = datetime.combine(day - timedelta(days=1), time(0), zone)
        end = datetime.combine(day + timedelta(days=2), time(0), zone)
        around = await self.occurrences(session, series, start, end)
        candidates = [m for m in around if m.starts_at.astimezone(zone).date() == day] or [
            m for m in around if m.is_extra and m.starts_at.astimezone(ZoneInfo(m.timezone)).date() == day]
        if candidates:
            return candidates[0]
        nearby = await self.occurrences(session, series, start - timedelta(days=14), end + timedelta(days=14))
        dates = ", ".join(f"{m.starts_at.astimezone(zone):%Y-%m-%d}" for m in nearby[:4])
        raise NotFound(
            f"{series.name} has no meeting on {day:%a %Y-%m-%d} (it meets {series.meets()}"
            f"{'; nearby: ' + dates if dates else ''})."
        )

    async def meeting_named(
        self, session: AsyncSession, workspace_id: str, ref: str, series: SeriesInfo | None = None
    ) -> tuple[SeriesInfo, Occurrence]:
        """The meeting a member named with ``meeting=``: ``#4`` (its number in the workspace) or its name
        (the soonest upcoming meeting with that name, of ``series`` when given)."""
        ref = ref.strip()
        row: Meeting | None = None
        if ref.startswith("#") and ref[1:].isdigit():
            found = await numbers_q.id_of_number(session, workspace_id, "meeting", int(ref[1:]))
            row = await q.meeting_by_id(session, found) if found is not None else None
        else:
            named = [m for m in await q.upcoming_named(session, workspace_id, ref, self.clock.now())
                     if series is None or m.series_id == series.id]
            row = named[0] if named else None
        if row is None or row.workspace_id != workspace_id:
            upcoming = [m for m in await q.upcoming_named(session, workspace_id, None, self.clock.now())
                        if series is None or m.series_id == series.id][:5]
            known = "; ".join(f"#{m.number} {m.name} ({format_home(m.starts_at, m.timezone)})" for m in upcoming)
            raise NotFound(f"There is no upcoming meeting {ref}: name one by its name or number"
                           f"{', for example ' + known if known else ' (no named meeting is coming up)'}.")
        series_row = await q.series_by_id(session, row.series_id)
        assert series_row is not None
        return SeriesInfo.of(series_row), occurrence_of(row)

    async def stored(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence) -> Meeting:
        """The meeting row of an occurrence, created on first need."""
        if occurrence.meeting_id is not None:
            row = await q.meeting_by_id(session, occurrence.meeting_id)
            assert row is not None
            return row
        now = self.clock.now()
        return await q.get_or_create_meeting(session, {
            "workspace_id": series.workspace_id, "series_id": series.id, "occurrence_key": occurrence.key,
            "starts_at": occurrence.starts_at, "timezone": occurrence.timezone, "name": occurrence.name,
            "duration_minutes": int(occurrence.duration.total_seconds() // 60), "status": occurrence.status,
            "created_at": now, "updated_at": now,
        })

    async def add_one_off(
        self, actor: Actor, slug: str | None, local: datetime, zone_name: str, name: str | None
    ) -> MeetingView:
        require_chair(actor, "add a meeting", self.settings.chair_roles)
        instant = strict_instant(local, ZoneInfo(zone_name))
        now = self.clock.now()
        if instant <= now:
            raise InvalidInput(f"{format_home(instant, zone_name)} is in the past: give a future date and time.")
        async with self.db.write() as session:
            if not slug and not await q.series_of_workspace(session, actor.workspace_id):
                series = await self._one_offs_series(session, actor, zone_name, now)
            else:
                series = await self.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            key = extra_key(instant)
            regular = regular_key(instant.astimezone(ZoneInfo(series.timezone)).date())
            existing = await q.meeting_by_key(session, series.id, key)
            clash = series.rule.is_occurrence(date.fromisoformat(regular)) and \
                series.rule.instant_on(date.fromisoformat(regular)) == instant
            if existing is not None or clash:
                raise Conflict(f"{series.name} already meets at {format_home(instant, series.timezone)}.")
            occurrence = Occurrence(key, instant, zone_name, series.duration, name=name)
            row = await self.stored(session, series, occurrence)
            await q.touch_series(session, series.id, now)
            view = (await self.views(session, series, [occurrence_of(row)]))[0]
        self.notify_changed(series.id)
        return view

    async def _one_offs_series(self, session: AsyncSession, actor: Actor, zone_name: str, now: datetime) -> SeriesInfo:
        """The series that holds the one-off meetings of a workspace with no weekly series: no standing
        meeting, the workspace's default display zones, link hosts and the 24 h agenda deadline, home zone
        the one-off's own. Created in the one-off's transaction."""
        row = Series(
            workspace_id=actor.workspace_id, slug=ONE_OFFS_SLUG, name="Meetings", weekday=ONE_OFFS_ONLY,
            local_time="00:00", timezone=zone_name, start_date=now.date(), duration_minutes=60,
            deadline_minutes=24 * 60, display_zones=",".join(self.settings.default_display_zones),
            link_hosts=",".join(self.settings.allowed_link_hosts), created_by=actor.member_id, created_at=now,
            updated_at=now, feed_name=ONE_OFFS_SLUG,
        )
        await q.insert_series(session, row)  # a concurrent first one-off may have created it: either is it
        stored = await q.series_by_slug(session, actor.workspace_id, ONE_OFFS_SLUG)
        assert stored is not None
        return SeriesInfo.of(stored)

    async def set_status(
        self, actor: Actor, slug: str | None, day: date | None, status: str, reason: str | None = None,
        meeting: str | None = None,
    ) -> MeetingView:
        """Cancel (``status='cancelled'``) or restore (``'scheduled'``) a meeting; chairs only. The meeting
        is the one named (``meeting=#4`` or its name), else the one on ``day``, else the next."""
        require_chair(actor, "cancel or restore a meeting", self.settings.chair_roles)
        now = self.clock.now()
        async with self.db.write() as session:
            if meeting is not None:
                within = await self.series_in(session, actor.workspace_id, slug) if slug else None
                series, occurrence = await self.meeting_named(session, actor.workspace_id, meeting, within)
            else:
                series = await self.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
                if day is not None:
                    occurrence = await self.meeting_on(session, series, day)
                else:
                    upcoming = await self.upcoming_in(session, series, 1, include_cancelled=status != "cancelled")
                    if not upcoming:
                        raise NotFound(f"{series.name} has no upcoming meeting.")
                    occurrence = upcoming[0]
            if occurrence.starts_at <= now:
                raise Conflict(
                    f"The meeting of {format_home(occurrence.starts_at, series.timezone)} has already started; "
                    "only upcoming meetings can be cancelled or restored."
                )
            if occurrence.status == status:
                word = "cancelled" if status == "cancelled" else "scheduled (not cancelled)"
                when = format_home(occurrence.starts_at, series.timezone)
                raise Conflict(f"The meeting of {when} is already {word}.")
            row = await self.stored(session, series, occurrence)
            row.status = status
            row.status_reason = reason
            row.status_changed_by = actor.member_id
            row.updated_at = now
            for hook in self.status_hooks:
                await hook(session, series, row, occurrence.status)
            await q.touch_series(session, series.id, now)
            view = (await self.views(session, series, [replace(occurrence_of(row))]))[0]
        self.notify_changed(series.id)
        return view


def forum_fields(category: str | None, published_before: str | None) -> dict[str, Any]:
    """The stored values of ``forum_category=`` and ``published_before=`` (only those given)."""
    values: dict[str, Any] = {}
    if category is not None:
        cleaned = category.strip()
        if not FORUM_CATEGORY.match(cleaned):
            raise InvalidInput(f"forum_category={category} is not a category: give its slug or id as the forum shows "
                               "it (e.g. forum_category=meetings), or off for no forum topics.")
        values["forum_category"] = None if cleaned.lower() == "default" else cleaned.lower()
    if published_before is not None:
        if published_before.strip().lower() in ("off", "none", "0"):
            values["published_before_minutes"] = None
        else:
            wait = parse_duration(published_before, maximum=timedelta(days=14))
            values["published_before_minutes"] = int(wait.total_seconds() // 60)
    return values
def first_open_date(rule: WeeklyRule, deadline: timedelta, now: datetime) -> date:
    """The local date of the series' first meeting that can still be prepared: the first whose agenda
    closes after ``now``. Created on a Tuesday afternoon for Wednesdays 08:00 with a 24 h deadline, that
    is next week's Wednesday, not tomorrow's (whose agenda closed hours ago), so the first tick never
    posts "No meeting this week" for a series nobody could prepare."""
    for day, instant in rule.occurrences(now, 2):
        if agenda_deadline(instant, deadline) > now:
            return day
    raise AssertionError("a deadline of at most 14 days leaves the second occurrence open")  # pragma: no cover


def channel_name(channel: str | None) -> str | None:
    """A channel as typed in ``channel=`` (``general``, ``#general``, ``<#123>``, ``<#C1|general>``) or as
    a platform reports it, reduced to one comparable form."""
    if not channel:
        return None
    name = channel.strip().removeprefix("<").removesuffix(">").lstrip("#")
    return name.split("|", 1)[0] or None


def require_chair(actor: Actor, what: str, chair_roles: tuple[str, ...] = ()) -> None:
    if not actor.is_chair:
        roles = " or ".join(chair_roles) or "a chair role"
        raise PermissionDenied(
            f"Only a chair ({roles}) may {what}: ask a chair to do it, or ask an admin for the role."
        )
