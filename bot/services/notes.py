"""Notes use cases: recording notes, decisions and action items of a meeting, listing them, and the
minutes (Markdown) that are published to the series' channel and exported."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor, platform_of
from bot.contracts.reply import Reply
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.rules.meetings import Occurrence
from bot.rules.minutes import MinutesInput, MinutesItem, MinutesNote, render_minutes
from bot.rules.time import format_home, format_zone_line
from bot.services.meetings import MAX_MEETING_DURATION, MeetingService
from bot.services.outbox import Outbox
from bot.services.rotation import RotationService
from bot.services.views import SeriesInfo
from storage.db import AsyncSession, Database
from storage.models import AgendaItem, Meeting, MeetingNote
from storage.queries import agenda as agenda_q
from storage.queries import members as members_q
from storage.queries import rotation as q

MAX_NOTE_LENGTH = 2000
# Notes go to the meeting in progress, or to the one that ended at most this long ago.
NOTES_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class NoteEntry:
    id: int
    kind: str
    text: str
    item_id: int | None
    owner: str | None
    owner_name: str | None
    author: str
    author_name: str
    created_at: datetime


@dataclass(frozen=True)
class MeetingNotes:
    series: SeriesInfo
    starts_at: datetime
    title: str
    host: str | None
    note_taker: str | None
    items: tuple[MinutesItem, ...]
    notes: tuple[NoteEntry, ...]
    names: dict[str, str]
    status: str

    @property
    def when(self) -> str:
        return format_zone_line(self.starts_at, self.series.timezone, self.series.display_zones)

    def name(self, member: str | None) -> str | None:
        if member is None:
            return None
        return self.names.get(member, member.split(":")[-1])

    def minutes_input(self) -> MinutesInput:
        return MinutesInput(
            title=self.title, when=self.when, host=self.name(self.host), note_taker=self.name(self.note_taker),
            items=self.items,
            notes=[MinutesNote(n.id, n.kind, n.text, n.item_id, n.owner_name) for n in self.notes],
            status=self.status,
        )

    def minutes(self, level: int = 1) -> str:
        return render_minutes(self.minutes_input(), level)


@dataclass(frozen=True)
class Published:
    """What ``/notes publish`` did: ``key`` is the outbox key of the post (None: the series has no channel
    to post to), ``posted`` False when the same minutes were posted already."""

    notes: MeetingNotes
    key: str | None
    posted: bool


async def load_meeting_notes(session: AsyncSession, series: SeriesInfo, meeting: Meeting) -> MeetingNotes:
    """The notes of one stored meeting, with what the minutes need. Used by the service and the export."""
    assert meeting.id is not None
    notes = (await q.notes_of(session, [meeting.id]))[meeting.id]
    items = await agenda_q.items_of(session, meeting.id)
    people = {p for p in (meeting.host, meeting.note_taker) if p} | {n.owner for n in notes if n.owner}
    names = await members_q.display_names(session, series.workspace_id, people)
    return MeetingNotes(
        series=series, starts_at=meeting.starts_at, title=meeting.name or series.name, host=meeting.host,
        note_taker=meeting.note_taker, items=tuple(_item(i) for i in items),
        notes=tuple(_entry(n, names) for n in notes), names=names, status=meeting.status,
    )


def _item(row: AgendaItem) -> MinutesItem:
    assert row.id is not None
    return MinutesItem(row.id, row.position, row.title, row.link, row.author_name, row.number or 0)


def _entry(row: MeetingNote, names: dict[str, str]) -> NoteEntry:
    assert row.id is not None
    owner_name = names.get(row.owner, row.owner.split(":")[-1]) if row.owner else None
    return NoteEntry(row.id, row.kind, row.text, row.item_id, row.owner, owner_name, row.author, row.author_name,
                     row.created_at)


# Run by ``publish`` in its transaction, with the series, the meeting and its notes: write more posts of the
# minutes to the outbox (GitHub comments, bot/services/github_minutes.py; forum replies, bot/services/forum.py);
# return whether anything was written.
PublishHook = Callable[[AsyncSession, SeriesInfo, Meeting, "MeetingNotes"], Awaitable[bool]]


class NotesService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService,
                 rotation: RotationService, outbox: Outbox) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        self.rotation = rotation
        self.outbox = outbox
        # Filled by build_services (bot/app.py): GitHub comments and forum replies, written in the publish
        # transaction.
        self.publish_hooks: list[PublishHook] = []

    async def _meeting(self, session: AsyncSession, series: SeriesInfo, day: date | None) -> Occurrence:
        """The meeting on ``day``; without a day, the one in progress or the latest that ended less than
        24 h ago."""
        now = self.clock.now()
        if day is not None:
            occurrence = await self.meetings.meeting_on(session, series, day)
            if occurrence.starts_at > now:
                raise InvalidInput(f"The meeting of {format_home(occurrence.starts_at, series.timezone)} has not "
                                   "started yet: notes are taken during or after a meeting.")
            return occurrence
        window_start = now - NOTES_GRACE - MAX_MEETING_DURATION
        recent = [o for o in await self.meetings.occurrences(session, series, window_start, now)
                  if not o.cancelled and now <= o.starts_at + o.duration + NOTES_GRACE]
        if not recent:
            raise NotFound(f"No meeting of {series.name} is in progress or ended in the last 24 hours: name the "
                           "meeting with date=YYYY-MM-DD.")
        return recent[-1]

    async def _fixed_meeting(self, session: AsyncSession, series: SeriesInfo, day: date | None) -> Meeting:
        await self.rotation.fix_due_in(session, series)
        occurrence = await self._meeting(session, series, day)
        row = await self.meetings.stored(session, series, occurrence)
        # A meeting older than the catch-up window was never fixed: fix it now from the replay.
        await self.rotation.fix_assignment(session, series, row)
        return row

    def _require_scribe(self, actor: Actor, row: Meeting, what: str, names: dict[str, str]) -> None:
        if actor.is_chair or actor.member_id in (row.host, row.note_taker):
            return
        who = [f"{names.get(m, m.split(':')[-1])} ({role})"
               for m, role in ((row.note_taker, "note-taker"), (row.host, "host")) if m]
        listed = ", ".join(who) if who else "nobody was assigned"
        raise PermissionDenied(f"Only the note-taker, the host or a chair may {what} for this meeting ({listed}): "
                               "ask one of them.")

    async def add(
        self, actor: Actor, text: str, *, item_id: int | None = None, kind: str = "note", owner: str | None = None,
        slug: str | None = None, day: date | None = None,
    ) -> tuple[NoteEntry, MeetingNotes]:
        text = " ".join(text.split())
        if not text:
            raise InvalidInput('The note is empty: put it in quotes, for example /notes add "Release 0.9 is on track".')
        if len(text) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"The note is {len(text)} characters long: keep each note to {MAX_NOTE_LENGTH} and "
                               "add several.")
        if owner is not None and kind != "action":
            raise InvalidInput("owner= is for action items: add kind=action, or leave owner= out.")
        now = self.clock.now()
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            row = await self._fixed_meeting(session, series, day)
            assert row.id is not None
            names = await members_q.display_names(session, series.workspace_id,
                                                  [m for m in (row.host, row.note_taker) if m])
            self._require_scribe(actor, row, "add notes", names)
            if item_id is not None:  # the number the member typed (#3), per workspace
                items = await agenda_q.items_of(session, row.id)
                typed, item_id = item_id, next((i.id for i in items if i.number == item_id), None)
                if item_id is None:
                    listed = ", ".join(f"#{i.number}" for i in items) or "none"
                    raise NotFound(f"#{typed} is not on the agenda of "
                                   f"{format_home(row.starts_at, series.timezone)} (its items: {listed}).")
            note = await q.add_note(session, MeetingNote(
                meeting_id=row.id, item_id=item_id, kind=kind, text=text, owner=owner, author=actor.member_id,
                author_name=actor.display_name, created_at=now))
            loaded = await load_meeting_notes(session, series, row)
        entry = next(n for n in loaded.notes if n.id == note.id)
        return entry, loaded

    async def show(self, workspace_id: str, slug: str | None, day: date | None) -> MeetingNotes:
        async with self.db.write() as session:  # a write: it may fix an assignment that is due
            series = await self.meetings.series_in(session, workspace_id, slug)
            row = await self._fixed_meeting(session, series, day)
            return await load_meeting_notes(session, series, row)

    async def publish(self, actor: Actor, slug: str | None, day: date | None) -> Published:
        """Post the minutes to the series' channel through the outbox. The key names the meeting and its
        latest note, ``minutes:<meeting id>:<latest note id>``: a retried command posts nothing twice, a
        re-publish after new notes posts the new minutes. A Discord or Slack series without a channel
        gets nothing posted; the caller shows the minutes instead."""
        async with self.db.write() as session:
            series = await self.meetings.series_in(session, actor.workspace_id, slug, channel=actor.channel_id)
            row = await self._fixed_meeting(session, series, day)
            assert row.id is not None
            loaded = await load_meeting_notes(session, series, row)
            self._require_scribe(actor, row, "publish the minutes", loaded.names)
            if not loaded.notes:
                raise Conflict(f"{loaded.title} of {format_home(row.starts_at, series.timezone)} has no notes yet, "
                               'so there are no minutes to publish: add some with /notes add "<note>".')
            key = f"minutes:{row.id}:{max(n.id for n in loaded.notes)}"
            postable = series.channel is not None or platform_of(series.workspace_id) == "console"
            posted = False
            # The public record (the forum): replies in the meeting's topic and on forum-linked items.
            recorded = False
            for hook in self.publish_hooks:
                recorded = await hook(session, series, row, loaded) or recorded
            if postable:
                minutes = loaded.minutes()
                posted = await self.outbox.enqueue(
                    session, key=key, workspace_id=series.workspace_id, kind="channel", target=series.channel or "",
                    reply=Reply(text=minutes, ephemeral=False, title=None, kind="minutes",
                                moments=(row.starts_at,), data={"markdown": minutes, "meeting": row.id,
                                                                "series": series.slug}))
        if posted or recorded:
            self.outbox.written()
        return Published(loaded, key if postable else None, posted)
