"""Cancelling and restoring a meeting after it was announced, told to the series' channel.

A chair's removal of an agenda item after the deadline redraws the announcement (an "update" of the
posted message) saying which items a chair removed.

Before the agenda deadline a cancel or restore needs no message of its own: the deadline step announces
whatever the meeting is then (bot/services/reminders.py). After it the channel already saw the
announcement, so:

- a chair's cancel of an announced meeting posts "cancelled by a chair" to the channel;
- a restore of a meeting that was announced as "No meeting this week" fixes its host and note-taker (the
  deadline hooks), posts its announcement, and brings back the reminder DMs that are still useful.

If the announcement is still waiting in the outbox (nobody sent it yet), it is rewritten instead, so the
channel sees one message. Everything is written in the cancel's or restore's own transaction (a
``MeetingService.status_hooks`` hook). Status posts have keys ``mtg-status:<series>:<occurrence>:<n>``,
outside the ``mtg:`` prefix whose unwanted pending rows the planner cancels."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from bot.contracts.actor import Actor, platform_of
from bot.contracts.reply import Reply, reply_from_json
from bot.services.outbox import Outbox, encode_reply
from bot.services.reminders import ReminderService, meeting_prefix
from bot.services.views import AgendaEntry, SeriesInfo, occurrence_of
from storage.db import AsyncSession
from storage.models import Meeting, OutboxMessage
from storage.queries import members as members_q
from storage.queries import outbox as outbox_q

RESTORED_NOTE = "A chair restored this meeting after it was announced as \"No meeting this week\": it takes place."


def status_prefix(series_id: int, occurrence_key: str) -> str:
    return f"mtg-status:{series_id}:{occurrence_key}:"


def update_prefix(series_id: int, occurrence_key: str) -> str:
    """Redraws of the announcement after a chair removed an item (kind "update", target: its message)."""
    return f"mtg-update:{series_id}:{occurrence_key}:"


class MeetingStatusNotices:
    def __init__(self, reminders: ReminderService, outbox: Outbox) -> None:
        self.reminders = reminders
        self.outbox = outbox
        self._written: set[int] = set()  # series whose change wrote a post, until its commit is noticed

    async def on_status_changed(self, session: AsyncSession, series: SeriesInfo, row: Meeting, previous: str) -> None:
        """The ``MeetingService.status_hooks`` hook: ``row`` has its new status, ``previous`` the old one."""
        occurrence = occurrence_of(row)
        now = self.reminders.clock.now()
        announce_key = meeting_prefix(series.id, occurrence.key) + "announce"
        announced = (await outbox_q.by_keys(session, [announce_key])).get(announce_key)
        if announced is None:
            # Not announced yet: the deadline step (on the tick the change asks for) announces the meeting
            # as it then is. It is left to the planner, which holds the series' planning lock for it.
            return
        if row.status == "scheduled" and previous == "cancelled":
            # Host and note-taker were never fixed for a meeting cancelled at its deadline.
            for hook in self.reminders.deadline_hooks:
                await hook(session, series, row)
            await session.flush()
            await outbox_q.revive_cancelled(session, meeting_prefix(series.id, occurrence.key) + "dm:", "dm", now)
        # Its reminders follow the change at once: none sent for a cancelled meeting by a dispatcher that
        # runs before the next tick, and a restored meeting's due now.
        await self.reminders.replan_meeting(session, series, occurrence_of(row))
        reply = await self._post(session, series, row)
        latest = await self._latest_post(session, series, occurrence.key)
        payload = encode_reply(reply)
        if latest is not None and latest.status == "pending" and await outbox_q.update_unclaimed(
                session, latest.id or 0, {"payload": payload}):
            return  # not sent yet: the channel sees the meeting's final state once
        if not await self._enqueue(session, series, occurrence.key, reply, now):
            return
        if latest is not None and latest.platform_ref:
            # The post it replaces ("No meeting this week", or the agenda) is marked as such in place, so
            # nobody reading back takes it for the meeting's state.
            shown = reply_from_json(json.loads(latest.payload))
            what = "cancelled" if row.status == "cancelled" else "restored"
            edited = replace(shown, title=f"{shown.title or 'Meeting'} (superseded)", buttons=(),
                             text=f"Superseded: a chair {what} this meeting afterwards; see the newer post.\n"
                                  + shown.text)
            await self._update(session, series, occurrence.key, latest.platform_ref, edited, now)

    async def _latest_post(self, session: AsyncSession, series: SeriesInfo, occurrence_key: str
                           ) -> OutboxMessage | None:
        """The latest channel post about the meeting: its announcement, or a later cancel or restore post."""
        announce_key = meeting_prefix(series.id, occurrence_key) + "announce"
        posts = [*(await outbox_q.by_keys(session, [announce_key])).values(),
                 *await outbox_q.with_prefix(session, status_prefix(series.id, occurrence_key))]
        return max(posts, key=lambda post: post.id or 0, default=None)

    async def _update(self, session: AsyncSession, series: SeriesInfo, occurrence_key: str, message_ref: str,
                      reply: Reply, now: datetime) -> None:
        prefix = update_prefix(series.id, occurrence_key)
        number = len(await outbox_q.keys_with_prefix(session, prefix)) + 1
        await self.outbox.enqueue(session, key=f"{prefix}{number}", workspace_id=series.workspace_id,
                                  kind="update", target=message_ref, reply=reply, due_at=now)
        self._written.add(series.id)

    async def _post(self, session: AsyncSession, series: SeriesInfo, row: Meeting) -> Reply:
        announcement = await self.reminders.announcement(session, series, row)
        title = row.name or series.name
        if row.status == "cancelled":
            names = await members_q.display_names(session, series.workspace_id, [row.status_changed_by or ""])
            chair = names.get(row.status_changed_by or "", "a chair")
            return replace(announcement, title=f"Cancelled by a chair: {title}",
                           text=announcement.text + f"\n(Cancelled by {chair} after the agenda was announced.)")
        return replace(announcement, title=f"{title}: restored, the agenda is closed",
                       text=f"{RESTORED_NOTE}\n{announcement.text}")

    async def _enqueue(self, session: AsyncSession, series: SeriesInfo, occurrence_key: str, reply: Reply,
                       now: datetime) -> bool:
        if not series.channel and platform_of(series.workspace_id) != "console":
            return False  # nowhere to post: the chair's own reply says what changed
        prefix = status_prefix(series.id, occurrence_key)
        number = len(await outbox_q.keys_with_prefix(session, prefix)) + 1
        await self.outbox.enqueue(session, key=f"{prefix}{number}", workspace_id=series.workspace_id,
                                  kind="channel", target=series.channel or "", reply=reply, due_at=now)
        self._written.add(series.id)
        return True

    async def on_late_removal(self, session: AsyncSession, series: SeriesInfo, row: Meeting, removed: AgendaEntry,
                              chair: Actor) -> None:
        """The ``AgendaService.late_removal_hooks`` hook: a chair removed an item after the deadline, so the
        message that announced the agenda (the announcement, or the restored meeting's post) is redrawn
        without it, saying which items a chair removed."""
        if row.status != "scheduled":
            return  # a cancelled meeting's post lists no agenda to correct
        occurrence = occurrence_of(row)
        target = await self._latest_post(session, series, occurrence.key)
        if target is None:
            return  # not announced yet: the deadline step will show the agenda as it is
        shown = reply_from_json(json.loads(target.payload))
        # The latest drawing of that message lists the earlier removals (an update of it, else the post).
        redraws = [u for u in await outbox_q.with_prefix(session, update_prefix(series.id, occurrence.key))
                   if target.platform_ref and u.target == target.platform_ref]
        latest = reply_from_json(json.loads(redraws[-1].payload)) if redraws else shown
        removals = [*latest.data.get("removed_by_chair", []),
                    {"id": removed.id, "title": removed.title, "chair": chair.display_name}]
        current = await self.reminders.announcement(session, series, row)
        lines = [f"#{r['id']} \"{r['title']}\" (removed by a chair, {r['chair']}, after the agenda closed)"
                 for r in removals]
        prefix = f"{RESTORED_NOTE}\n" if shown.text.startswith(RESTORED_NOTE) else ""
        reply = replace(current, title=shown.title, text=prefix + current.text + "\nRemoved: " + "; ".join(lines),
                        data={**current.data, "removed_by_chair": removals})
        payload = encode_reply(reply)
        if target.status == "pending" and await outbox_q.update_unclaimed(session, target.id or 0,
                                                                           {"payload": payload}):
            return
        if not target.platform_ref:
            return  # the post never reached the platform (failed): nothing there to correct
        await self._update(session, series, occurrence.key, target.platform_ref, reply, self.reminders.clock.now())

    def on_series_changed(self, series_id: int) -> None:
        """``MeetingService.on_series_changed`` listener (after the commit): wake the dispatcher so the
        post goes now rather than at the next tick."""
        if series_id in self._written:
            self._written.discard(series_id)
            self.outbox.written()
