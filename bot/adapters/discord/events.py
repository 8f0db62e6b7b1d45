"""Upcoming meetings mirrored as guild scheduled events: created, moved or renamed when the meeting
changes, cancelled with it. What to do is decided by ``bot.rules.event_sync``; this module reads the
inputs (stored links, the guild's event markers), carries the plan out and stores the links."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.adapters.discord.render import workspace_id
from bot.rules.event_sync import (
    MARKER_PREFIX,
    Adopt,
    Cancel,
    Create,
    EventLink,
    MirroredMeeting,
    Update,
    needs_markers,
    plan_sync,
)
from bot.services import Services

log = logging.getLogger("quorum.discord.events")

PERIODIC_SYNC = timedelta(minutes=10)


class EventSync:
    def __init__(self, services: Services, client: discord.Client) -> None:
        self.services = services
        self.client = client
        # One sync at a time in this process, so two triggers never both create the same event (and, with
        # ``event_mirror.syncing``, one at a time across replicas).
        self._lock = asyncio.Lock()
        self._last_full: datetime | None = None
        # Guilds whose last sync was skipped because another replica was syncing them. That replica may
        # die in the middle (its lock goes with its connection), so they are synced again on the next tick
        # rather than only at the next periodic sync, ten minutes later.
        self._deferred: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- triggers --------------------------------------------------------------------------
    def series_changed(self, series_id: int) -> None:
        """``MeetingService.on_series_changed`` listener (synchronous): sync in the background."""
        self._background(self.sync_series(series_id))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name="quorum-event-sync")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def sync_series(self, series_id: int) -> None:
        try:
            workspace = await self.services.event_mirror.workspace_of_series(series_id)
            guild = self._guild_of(workspace)
            if guild is not None:
                await self.sync_guild(guild)
        except Exception:
            log.exception("syncing the scheduled events of series %s failed; the periodic sync retries", series_id)

    async def tick(self) -> None:
        """Ticker job: every ``PERIODIC_SYNC``, sync every guild (catches anything a trigger missed); on the
        ticks in between, the guilds whose sync another replica was doing when this one tried."""
        now = self.services.clock.now()
        full = self._last_full is None or now - self._last_full >= PERIODIC_SYNC
        guilds = [g for g in self.client.guilds if full or g.id in self._deferred]
        if full:
            self._last_full = now
        for guild in guilds:
            try:
                await self.sync_guild(guild)
            except Exception:
                log.exception("syncing the scheduled events of guild %s failed", guild.id)
        if not full:
            return
        try:
            await self.services.event_mirror.prune_ended()
        except Exception:  # housekeeping: never in the way of the sync
            log.exception("deleting the links of ended meetings failed; trying again at the next sync")

    def _guild_of(self, workspace: str | None) -> discord.Guild | None:
        if workspace is None or not workspace.startswith("discord:") or not workspace[8:].isdigit():
            return None
        return self.client.get_guild(int(workspace[8:]))

    # -- the sync --------------------------------------------------------------------------
    async def sync_guild(self, guild: discord.Guild) -> None:
        workspace = workspace_id(guild.id)
        async with self._lock, self.services.event_mirror.syncing(workspace) as mine:
            if not mine:
                log.debug("another replica is syncing the scheduled events of guild %s; again on the next tick",
                          guild.id)
                self._deferred.add(guild.id)
                return
            self._deferred.discard(guild.id)
            wanted, links = await self.services.event_mirror.plan(workspace)
            markers = await self._markers(guild) if needs_markers(wanted, links) else {}
            for action in plan_sync(wanted, links, markers, self.services.clock.now()):
                match action:
                    case Create(meeting):
                        await self._create(guild, meeting)
                    case Update(meeting, event_id) | Adopt(meeting, event_id):
                        await self._update(guild, meeting, event_id)
                    case Cancel(link):
                        await self._cancel(guild, link)

    async def _markers(self, guild: discord.Guild) -> dict[str, str]:
        markers: dict[str, str] = {}
        for event in await guild.fetch_scheduled_events(with_counts=False):
            for line in (event.description or "").splitlines():
                if line.startswith(MARKER_PREFIX):
                    markers[line.strip()] = str(event.id)
        return markers

    async def _create(self, guild: discord.Guild, meeting: MirroredMeeting) -> None:
        event = await guild.create_scheduled_event(
            name=meeting.name, start_time=meeting.starts_at, end_time=meeting.ends_at,
            entity_type=discord.EntityType.external, privacy_level=discord.PrivacyLevel.guild_only,
            location=meeting.location, description=meeting.description,
        )
        await self.services.event_mirror.save(_link(guild, meeting, str(event.id)))

    async def _update(self, guild: discord.Guild, meeting: MirroredMeeting, event_id: str) -> None:
        try:
            event = await guild.fetch_scheduled_event(int(event_id))
            await event.edit(name=meeting.name, start_time=meeting.starts_at, end_time=meeting.ends_at,
                             location=meeting.location, description=meeting.description)
        except discord.NotFound:
            # Someone deleted the event by hand: make a new one.
            await self._create(guild, meeting)
            return
        await self.services.event_mirror.save(_link(guild, meeting, event_id))

    async def _cancel(self, guild: discord.Guild, link: EventLink) -> None:
        try:
            event = await guild.fetch_scheduled_event(int(link.event_id))
            if event.status is discord.EventStatus.scheduled:
                await event.cancel()
        except discord.NotFound:
            pass  # already gone: nothing to cancel
        await self.services.event_mirror.save(replace(link, status="cancelled"))


def _link(guild: discord.Guild, meeting: MirroredMeeting, event_id: str) -> EventLink:
    return EventLink(meeting.series_id, meeting.occurrence_key, str(guild.id), event_id, meeting.name,
                     meeting.starts_at, meeting.ends_at, "scheduled")
