"""Meetings mirrored as events on a platform's own calendar (Discord guild scheduled events): which
upcoming meetings should be there, and which platform event mirrors which meeting."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.rules.event_sync import EventLink, MirroredMeeting, marker
from bot.rules.time import format_zone_line
from bot.services.meetings import MeetingService
from storage.db import Database
from storage.queries import discord_events as q
from storage.queries import meetings as meetings_q

MIRROR_HORIZON = timedelta(days=28)  # how far ahead meetings are mirrored
# Links of ended meetings are deleted in transactions of this many, at most this many per call.
PRUNE_BATCH = 500
PRUNE_BATCHES = 10


class EventMirrorService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings

    def syncing(self, workspace_id: str) -> AbstractAsyncContextManager[bool]:
        """Around one sync of a workspace's platform events: True when this replica may sync it now, False
        when another is syncing it (then skip, and try again on the next tick: that replica may have read
        the meetings before the change that triggered this sync, or may die half-way). So two replicas never
        both create the event of a new meeting."""
        return self.db.exclusive(f"quorum:event-mirror:{workspace_id}")

    async def plan(self, workspace_id: str) -> tuple[list[MirroredMeeting], list[EventLink]]:
        """The workspace's meetings in the next ``MIRROR_HORIZON`` (cancelled ones included, so their
        events get cancelled) and the stored links of its series, read in one transaction."""
        now = self.clock.now()
        wanted: list[MirroredMeeting] = []
        async with self.db.read() as session:
            rows = await meetings_q.series_of_workspace(session, workspace_id)
            series_list = [await self.meetings.series_in(session, workspace_id, r.slug) for r in rows]
            for series in series_list:
                for meeting in await self.meetings.occurrences(session, series, now, now + MIRROR_HORIZON):
                    if meeting.starts_at <= now:
                        continue
                    name = meeting.name or series.name
                    zones = format_zone_line(meeting.starts_at, series.timezone, series.display_zones)
                    description = (f"{series.name} ({series.slug}). {zones}\n"
                                   f"Agenda: /agenda list {series.slug}\n{marker(series.id, meeting.key)}")
                    wanted.append(MirroredMeeting(
                        series.id, meeting.key, name[:100], meeting.starts_at, meeting.starts_at + meeting.duration,
                        meeting.cancelled, description[:1000],
                        f"#{series.channel}" if series.channel else f"{series.name} on this server"[:100],
                    ))
            links = [EventLink(r.series_id, r.occurrence_key, r.guild_id, r.event_id, r.name, r.starts_at,
                               r.ends_at, r.status)
                     for r in await q.links_of_series(session, [s.id for s in series_list])]
        return wanted, links

    async def save(self, link: EventLink) -> None:
        async with self.db.write() as session:
            await q.save_link(session, {
                "series_id": link.series_id, "occurrence_key": link.occurrence_key, "guild_id": link.guild_id,
                "event_id": link.event_id, "name": link.name, "starts_at": link.starts_at, "ends_at": link.ends_at,
                "status": link.status, "updated_at": self.clock.now(),
            })

    async def prune_ended(self) -> int:
        """Delete the links of meetings that ended longer ago than the retention (``[outbox] retention_days``,
        the one retention of history), in small transactions; a backlog left over goes at the next call."""
        before = self.clock.now() - self.settings.outbox.retention
        deleted, _ = await self.db.delete_in_batches(
            lambda session, limit: q.prune_links_ended_before(session, before, limit),
            batch=PRUNE_BATCH, batches=PRUNE_BATCHES)
        return deleted

    async def workspace_of_series(self, series_id: int) -> str | None:
        async with self.db.read() as session:
            row = await meetings_q.series_by_id(session, series_id)
        return row.workspace_id if row is not None else None
