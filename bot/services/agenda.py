"""Agenda use cases: add, list, remove and reorder items, with the deadline and link rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.forum import ForumTopicInfo, ForumTopics, ForumUnavailable
from bot.errors import Conflict, NotFound, PermissionDenied
from bot.rules.agenda import MAX_ITEMS_PER_MEETING, agenda_open, reorder
from bot.rules.forum import eligible_from, topic_id_in
from bot.rules.links import clean_link, normalize_link, validate_link, validate_title
from bot.rules.meetings import Occurrence
from bot.rules.parsing import format_duration
from bot.rules.time import format_home
from bot.services.meetings import MeetingService, require_chair
from bot.services.views import AgendaEntry, MeetingView, SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.models import AgendaItem, Meeting
from storage.queries import agenda as q
from storage.queries import meetings as meetings_q
from storage.queries import numbers as numbers_q


@dataclass(frozen=True)
class FetchedTitle:
    """A linked page's real title (``title``), or why it could not be fetched (``note``, shown to the member)."""

    title: str | None
    note: str | None = None


# Given a link, its real title, or None when the lookup does not handle such links (GitHub: bot/services/github.py).
TitleLookup = Callable[[str], Awaitable[FetchedTitle | None]]


@dataclass(frozen=True)
class Added:
    item: AgendaEntry
    meeting: MeetingView
    # What the member should know about the link: the title came from the forum, or the linked issue's or
    # topic's title could not be fetched (docs/forum.md, docs/github.md).
    note: str | None = None


# Called in the transaction of a chair's removal after the agenda closed: (session, series, meeting row,
# the removed item, the chair). The status notices update the announcement (bot/services/meeting_status.py).
LateRemovalHook = Callable[[AsyncSession, SeriesInfo, Meeting, AgendaEntry, Actor], Awaitable[None]]


class AgendaService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        self.late_removal_hooks: list[LateRemovalHook] = []
        # Asked in turn before an item is stored; the first that knows the link gives its real title. They
        # never raise and bound their own waiting, so a site that is down never blocks the member.
        self.title_lookups: list[TitleLookup] = []
        # Set by build_app when a forum is configured (bot/adapters/discourse/topics.py).
        self.forum_topics: ForumTopics | None = None

    async def _linked_topic(self, link: str) -> tuple[ForumTopicInfo | None, str | None]:
        """The forum topic a link points at, asked before the transaction and never for long: when the
        forum does not answer, the item is added anyway, with a note saying what was not checked."""
        topic_id = topic_id_in(link, self.settings.forum.host)
        if topic_id is None or self.forum_topics is None:
            return None, None
        try:
            info = await self.forum_topics.topic(topic_id)
        except ForumUnavailable:
            return None, ("The forum did not answer, so the topic's title and publication time were not checked; "
                          "the item was added with the title you gave.")
        if info is None:
            raise NotFound(f"The forum has no topic {topic_id} (or the bot cannot see it): check the link.")
        return info, f"Title taken from the forum topic: \"{info.title}\"."

    async def _fetched_title(self, link: str) -> tuple[str | None, str | None]:
        """The real title of a link another site knows (GitHub), and what to tell the member about it."""
        for lookup in self.title_lookups:
            fetched = await lookup(link)
            if fetched is not None:
                return fetched.title, fetched.note
        return None, None

    async def add(
        self, actor: Actor, title: str, link: str, slug: str | None = None, day: date | None = None,
        meeting: str | None = None,
    ) -> Added:
        """Add an item to the next meeting, the one on ``day``, or the one named ``meeting`` (#4 or a name)."""
        title = validate_title(title)
        link = clean_link(link)  # once, for the lookups below as for validate_link (Slack sends <url>)
        topic, note = await self._linked_topic(link)
        if topic is not None and topic.title.strip():
            title = validate_title(topic.title[:200])
        elif topic is None and note is None:
            fetched, note = await self._fetched_title(link)
            title = validate_title(fetched) if fetched else title
        now = self.clock.now()
        async with self.db.write() as session:
            if meeting is not None:  # by name or number: only upcoming meetings are found that way
                within = await self.meetings.series_in(session, actor.workspace_id, slug) if slug else None
                series, occurrence = await self.meetings.meeting_named(session, actor.workspace_id, meeting, within)
            else:
                series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
                occurrence = await self._target(session, series, day, now)
            link = validate_link(link, series.link_hosts)
            if occurrence.cancelled:
                raise Conflict(f"The meeting of {format_home(occurrence.starts_at, series.timezone)} is cancelled; "
                               + await self._offer_next(session, series, after=occurrence.starts_at))
            view = MeetingView(series, occurrence)
            if not agenda_open(now, view.deadline):
                raise Conflict(
                    f"The agenda of {format_home(occurrence.starts_at, series.timezone)} closed at "
                    f"{format_home(view.deadline, series.timezone)} ({_hours(series)} before the meeting); "
                    + await self._offer_next(session, series, after=occurrence.starts_at)
                )
            if topic is not None and series.published_before is not None:
                await self._require_published(session, series, occurrence.starts_at, topic, series.published_before)
            if occurrence.meeting_id is None:  # its first item: store the meeting
                occurrence = occurrence_of(await self.meetings.stored(session, series, occurrence))
            meeting_id = occurrence.meeting_id
            assert meeting_id is not None
            # Positions are max+1: concurrent adds to one meeting must not read the same max.
            await meetings_q.lock_meeting(session, meeting_id)
            key = normalize_link(link)
            items = (await q.items_of_many(session, [meeting_id]))[meeting_id]
            position = max((i.position for i in items), default=0) + 1
            if position > MAX_ITEMS_PER_MEETING:
                raise Conflict(f"This agenda already has {MAX_ITEMS_PER_MEETING} items: add it to the next meeting.")
            row = await q.insert_item(session, {
                "meeting_id": meeting_id, "workspace_id": series.workspace_id, "position": position,
                "title": title, "link": link, "link_key": key,
                "author": actor.member_id, "author_name": actor.display_name, "added_at": now,
            })
            if row is None:  # the unique constraint refused a second item with this link
                existing = await q.item_with_link(session, meeting_id, key)
                if existing is None:  # pragma: no cover - the conflicting row was removed meanwhile
                    raise Conflict("That link was just added to this agenda by someone else: one item per link.")
                raise Conflict(
                    f"That link is already on this agenda as #{existing.number} \"{existing.title}\" "
                    f"(added by {existing.author_name}): one item per link."
                )
            await meetings_q.touch_series(session, series.id, now)
            views = await self.meetings.views(session, series, [occurrence], items={meeting_id: [*items, row]})
        self.meetings.notify_changed(series.id)
        return Added(AgendaEntry.of(row), views[0], note)

    async def _require_published(self, session: AsyncSession, series: SeriesInfo, starts_at: datetime,
                                 topic: ForumTopicInfo, wait: timedelta) -> None:
        """The pre-RFC rule: refused, with when it becomes eligible and the next meeting it can go to."""
        eligible = eligible_from(topic.published_at, wait)
        if starts_at >= eligible:
            return
        offer = "no later meeting is open for items yet."
        for later in await self.meetings.upcoming_in(session, series, 6, include_cancelled=False,
                                                     after=eligible - timedelta(microseconds=1)):
            view = MeetingView(series, later)
            if later.starts_at >= eligible and agenda_open(self.clock.now(), view.deadline):
                offer = (f"the next meeting it can go to is {format_home(later.starts_at, series.timezone)}: add it "
                         f"with date={view.local_date.isoformat()}.")
                break
        raise Conflict(
            f"The forum topic \"{topic.title}\" was published {format_home(topic.published_at, series.timezone)}; "
            f"{series.name} takes forum topics published at least {format_duration(wait)} before the meeting, so it "
            f"becomes eligible for meetings from {format_home(eligible, series.timezone)}; {offer}")

    async def _target(self, session: AsyncSession, series: SeriesInfo, day: date | None, now: datetime) -> Occurrence:
        """The meeting an item is for: the one on ``day`` (not over), else the next not cancelled."""
        if day is not None:
            occurrence = await self.meetings.meeting_on(session, series, day)
            if occurrence.starts_at <= now:
                raise Conflict(f"The meeting of {format_home(occurrence.starts_at, series.timezone)} is over; "
                               + await self._offer_next(session, series))
            return occurrence
        upcoming = await self.meetings.upcoming_in(session, series, 1, include_cancelled=False)
        if not upcoming:
            raise NotFound(f"{series.name} has no upcoming meeting to add an item to.")
        return upcoming[0]

    async def _offer_next(self, session: AsyncSession, series: SeriesInfo, after: datetime | None = None) -> str:
        """The sentence offering the next meeting whose agenda is still open."""
        for occurrence in await self.meetings.upcoming_in(session, series, 6, include_cancelled=False, after=after):
            view = MeetingView(series, occurrence)
            if agenda_open(self.clock.now(), view.deadline):
                return (f"add it to the next meeting, {format_home(occurrence.starts_at, series.timezone)}, "
                        f"with date={view.local_date.isoformat()}.")
        return "no later meeting is open for items yet."

    async def list(self, workspace_id: str, slug: str | None = None, day: date | None = None,
                   meeting: str | None = None) -> MeetingView:
        """The agenda of the meeting named (``meeting=``), else of the series named, or, when none is named,
        of the soonest meeting (on ``day``, or upcoming and not cancelled) of every series of the workspace:
        reading never asks which series."""
        async with self.db.read() as session:
            if meeting is not None:
                within = await self.meetings.series_in(session, workspace_id, slug) if slug else None
                named, occurrence = await self.meetings.meeting_named(session, workspace_id, meeting, within)
                return (await self.meetings.views(session, named, [occurrence]))[0]
            chosen = [await self.meetings.series_in(session, workspace_id, slug)] if slug else \
                await self.meetings.all_series_in(session, workspace_id)
            found: list[tuple[SeriesInfo, Occurrence]] = []
            missing: NotFound | None = None
            for series in chosen:
                if day is not None:
                    try:
                        found.append((series, await self.meetings.meeting_on(session, series, day)))
                    except NotFound as error:  # another series may meet that day
                        missing = missing or error
                    continue
                upcoming = await self.meetings.upcoming_in(session, series, 1, include_cancelled=False)
                found += [(series, upcoming[0])] if upcoming else []
            if not found:
                if missing is not None and len(chosen) == 1:
                    raise missing
                what = f"on {day:%a %Y-%m-%d}" if day else "upcoming"
                raise NotFound(f"{' or '.join(s.name for s in chosen)} has no meeting {what}.")
            series, occurrence = min(found, key=lambda pair: (pair[1].starts_at, pair[0].slug))
            return (await self.meetings.views(session, series, [occurrence]))[0]

    async def remove(self, actor: Actor, number: int) -> tuple[AgendaEntry, MeetingView]:
        """Remove the item a member named ``#number`` (its number in the workspace)."""
        now = self.clock.now()
        async with self.db.write() as session:
            item, series, meeting_row = await self._locate(session, actor, number)
            assert item.id is not None
            assert meeting_row.id is not None
            await meetings_q.lock_meeting(session, meeting_row.id)
            if item.author != actor.member_id and not actor.is_chair:
                raise PermissionDenied(
                    f"Only {item.author_name} (who added #{number}) or a chair may remove it."
                )
            view = MeetingView(series, occurrence_of(meeting_row))
            late = not agenda_open(now, view.deadline)
            if late and (not actor.is_chair or view.starts_at <= now):
                # After the deadline only a chair moderates (a spam or abusive item), until the start.
                raise Conflict(
                    f"The agenda of {format_home(view.starts_at, series.timezone)} closed at "
                    f"{format_home(view.deadline, series.timezone)}: "
                    + ("the meeting has started, and its agenda stays as it was." if view.starts_at <= now
                       else "only a chair may remove an item now.")
                )
            removed = AgendaEntry.of(item)
            await q.delete_item(session, item.id)
            assert meeting_row.id is not None
            remaining = await q.items_of(session, meeting_row.id)
            await q.set_positions(session, remaining, [i.id for i in remaining if i.id is not None])
            await meetings_q.touch_series(session, series.id, now)
            if late:
                for hook in self.late_removal_hooks:
                    await hook(session, series, meeting_row, removed, actor)
            views = await self.meetings.views(session, series, [occurrence_of(meeting_row)])
        self.meetings.notify_changed(series.id)
        return removed, views[0]

    async def move(self, actor: Actor, number: int, position: int) -> MeetingView:
        require_chair(actor, "reorder the agenda", self.settings.chair_roles)
        now = self.clock.now()
        async with self.db.write() as session:
            item, series, meeting_row = await self._locate(session, actor, number)
            assert meeting_row.id is not None and item.id is not None
            items = await q.items_of(session, meeting_row.id)
            order = reorder([i.id for i in items if i.id is not None], item.id, position)
            await q.set_positions(session, items, order)
            await meetings_q.touch_series(session, series.id, now)
            await session.flush()
            views = await self.meetings.views(session, series, [occurrence_of(meeting_row)])
        self.meetings.notify_changed(series.id)
        return views[0]

    async def _locate(
        self, session: AsyncSession, actor: Actor, number: int
    ) -> tuple[AgendaItem, SeriesInfo, Meeting]:
        """The item a member named ``#number``: numbers are per workspace, so only this workspace's."""
        item_id = await numbers_q.id_of_number(session, actor.workspace_id, "agendaitem", number)
        item = await q.get_item(session, item_id) if item_id is not None else None
        meeting_row = await meetings_q.meeting_by_id(session, item.meeting_id) if item else None
        if item is None or meeting_row is None or meeting_row.workspace_id != actor.workspace_id:
            raise NotFound(f"There is no agenda item #{number}: /agenda list shows the items and their numbers.")
        series_row = await meetings_q.series_by_id(session, meeting_row.series_id)
        assert series_row is not None
        return item, SeriesInfo.of(series_row), meeting_row


def _hours(series: SeriesInfo) -> str:
    hours = series.deadline.total_seconds() / 3600
    return f"{hours:g} h"
