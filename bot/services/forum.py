"""The community's public record on its Discourse forum (docs/forum.md).

Everything here writes outbox rows in the caller's transaction; the forum notifier
(bot/adapters/discourse/notifier.py) makes the forum show them, exactly once:

- A meeting's topic: the reminder planner calls ``plan_meeting`` for every meeting it plans (right after
  the agenda-deadline step that announces it in chat), so the topic opens when it is due, follows the
  agenda while it is open and is finalised at the deadline with the closed agenda or "No meeting this
  week", from the same state the chat announcement is rendered from. Rows: ``forum:<external id>:open``,
  then ``forum:<external id>:edit:<n>``; each is a whole-topic upsert under the topic's ``external_id``,
  so a retry or a second replica never opens a second topic and a later edit supersedes an earlier one.
- Minutes: ``on_minutes`` (called by ``/notes publish``) replies in the meeting's topic and in the topic of
  every agenda item that links the forum; a republish edits those replies (same marker) instead of
  adding more.
- Votes: ``on_vote_open`` opens a ``[VOTE]`` topic, ``on_vote_close`` posts the ``[RESULT][VOTE]`` reply."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.config import Settings
from bot.contracts.reply import Reply
from bot.rules.forum import meeting_external_id, topic_id_in, topic_opens_at, vote_external_id
from bot.rules.meetings import Occurrence
from bot.rules.time import agenda_deadline
from bot.services import forum_text
from bot.services.meetings import MeetingService
from bot.services.notes import MeetingNotes
from bot.services.outbox import Outbox, encode_reply, supersede
from bot.services.views import AgendaEntry, SeriesInfo
from bot.services.votes import VoteView
from storage.db import AsyncSession
from storage.models import Meeting
from storage.queries import meetings as meetings_q
from storage.queries import outbox as outbox_q

log = logging.getLogger("quorum.forum")

OFF = "off"
NO_ITEMS_REASON = "no agenda items"  # the status_reason the deadline step gives an empty meeting
# A new edit written while the previous one is being sent waits this long, so the two do not race.
IN_FLIGHT_GAP = timedelta(minutes=1)


class ForumRecord:
    def __init__(self, settings: Settings, meetings: MeetingService, outbox: Outbox) -> None:
        self.settings = settings
        self.meetings = meetings
        self.outbox = outbox

    @property
    def enabled(self) -> bool:
        return self.settings.forum_enabled

    def category_of(self, series: SeriesInfo) -> str | None:
        """Where this series' meeting topics go; None: the series has no forum topics."""
        if not self.enabled or series.forum_category == OFF:
            return None
        return series.forum_category or self.settings.forum.category

    def lookahead(self) -> timedelta:
        """How far ahead the planner must look for topics to open."""
        return self.settings.forum.topic_lead if self.enabled else timedelta()

    # -- a meeting's topic ----------------------------------------------------------------------
    async def plan_meeting(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence,
                           items: list[AgendaEntry], now: datetime) -> datetime | None:
        """Write what the meeting's topic should show now; return when to look again (its opening)."""
        category = self.category_of(series)
        if category is None:
            return None
        external_id = meeting_external_id(series.id, occurrence.key)
        prefix = f"forum:{external_id}:"
        rows = await outbox_q.with_prefix(session, prefix)
        if not rows:
            if occurrence.starts_at <= now:
                return None  # never opened before it started: too late to announce it
            opens = await self._opens_at(session, series, occurrence)
            if now < opens:
                return opens
        reply = await self._topic_reply(session, series, occurrence, items, now, category)
        if not rows:
            await self.outbox.enqueue(session, key=prefix + "open", workspace_id=series.workspace_id,
                                      kind="forum_topic", target=external_id, reply=reply, due_at=now)
            return None
        latest = rows[-1]  # by id: the last thing asked of the forum
        wanted = encode_reply(reply)
        if latest.payload == wanted:
            return None
        if (latest.status == "pending" and latest.claimed_by is None
                and await outbox_q.update_unclaimed(session, latest.id or 0, {"payload": wanted})):
            return None
        due = now + IN_FLIGHT_GAP if latest.status == "pending" else now
        await self.outbox.enqueue(session, key=f"{prefix}edit:{len(rows)}", workspace_id=series.workspace_id,
                                  kind="forum_topic", target=external_id, reply=reply, due_at=due)
        return None

    async def _opens_at(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence) -> datetime:
        lead = self.settings.forum.topic_lead
        before = await self.meetings.occurrences(session, series, occurrence.starts_at - lead, occurrence.starts_at)
        previous = [o for o in before if o.starts_at < occurrence.starts_at]
        last = max(previous, key=lambda o: o.starts_at) if previous else None
        if last is None:
            return topic_opens_at(occurrence.starts_at, None, lead)
        # A cancelled meeting is done with at its agenda deadline, when "no meeting this week" is announced.
        done = (agenda_deadline(last.starts_at, series.deadline) if last.status == "cancelled"
                else last.starts_at + last.duration)
        return topic_opens_at(occurrence.starts_at, done, lead)

    async def _topic_reply(self, session: AsyncSession, series: SeriesInfo, occurrence: Occurrence,
                           items: list[AgendaEntry], now: datetime, category: str) -> Reply:
        final = agenda_deadline(occurrence.starts_at, series.deadline) <= now
        view = (await self.meetings.views(session, series, [occurrence]))[0]
        reason = None
        following = None
        if occurrence.status == "cancelled":
            row = await meetings_q.meeting_by_id(session, occurrence.meeting_id) if occurrence.meeting_id else None
            stored_reason = row.status_reason if row is not None else None
            reason = ("its agenda has no items" if stored_reason == NO_ITEMS_REASON
                      else "a chair cancelled it" + (f": {stored_reason}" if stored_reason else ""))
            later = await self.meetings.upcoming_in(session, series, 1, include_cancelled=False,
                                                    after=occurrence.starts_at)
            following = later[0].starts_at if later else None
        text = forum_text.meeting_topic(
            self.settings, series, name=occurrence.name, starts_at=occurrence.starts_at, status=occurrence.status,
            items=items, host=view.name_of(view.occurrence.host), note_taker=view.name_of(view.occurrence.note_taker),
            final=final, reason=reason, following=following)
        return Reply(text=text.body, title=text.title, ephemeral=False, kind="announcement",
                     data={"category": category, "series": series.slug, "occurrence": occurrence.key})

    # -- minutes --------------------------------------------------------------------------------
    async def on_minutes(self, session: AsyncSession, series: SeriesInfo, meeting: Meeting,
                         notes: MeetingNotes) -> bool:
        """Post the minutes in the meeting's topic and each forum-linked item's notes in its topic; True
        when anything new was written."""
        if not self.enabled or not notes.notes or meeting.id is None:
            return False
        meeting_id, occurrence_key = meeting.id, meeting.occurrence_key
        latest = max(n.id for n in notes.notes)
        wrote = False
        external_id = meeting_external_id(series.id, occurrence_key)
        has_topic = bool(await outbox_q.with_prefix(session, f"forum:{external_id}:"))
        if has_topic:
            await supersede(session, f"forum:minutes:{meeting_id}:", f"forum:minutes:{meeting_id}:{latest}")
            wrote |= await self.outbox.enqueue(
                session, key=f"forum:minutes:{meeting_id}:{latest}", workspace_id=series.workspace_id,
                kind="forum_post", target=f"ext:{external_id}",
                reply=Reply(text=forum_text.minutes_reply(notes.minutes_input()), ephemeral=False, kind="minutes",
                            data={"marker": f"minutes:{meeting_id}"}))
        topic_link = None
        for item in notes.items:
            topic_id = topic_id_in(item.link, self.settings.forum.host)
            if topic_id is None:
                continue
            mine = [(n.kind, n.text, n.owner_name) for n in notes.notes if n.item_id == item.id]
            entry = AgendaEntry(item.id, item.position, item.title, item.link, "", item.author_name, notes.starts_at)
            text = forum_text.item_reply(notes.title, notes.starts_at, series, entry, mine, topic_link)
            item_prefix = f"forum:item:{meeting_id}:{item.id}:"
            await supersede(session, item_prefix, f"{item_prefix}{latest}")
            wrote |= await self.outbox.enqueue(
                session, key=f"forum:item:{meeting_id}:{item.id}:{latest}", workspace_id=series.workspace_id,
                kind="forum_post", target=f"id:{topic_id}",
                reply=Reply(text=text, ephemeral=False, kind="minutes",
                            data={"marker": f"item:{meeting_id}:{item.id}"}))
        return wrote

    # -- votes ----------------------------------------------------------------------------------
    def _vote_category(self) -> str | None:
        return self.settings.forum.vote_category or self.settings.forum.category

    async def on_vote_open(self, session: AsyncSession, view: VoteView) -> None:
        if not self.enabled:
            return
        zones = self.settings.default_display_zones
        text = forum_text.vote_topic(view, zones, view.electorate_digest)
        await self.outbox.enqueue(
            session, key=f"forum:vote:{view.id}:open", workspace_id=view.workspace_id, kind="forum_topic",
            target=vote_external_id(view.id),
            reply=Reply(text=text.body, title=text.title, ephemeral=False, kind="vote",
                        data={"category": self._vote_category(), "vote": view.id}))

    async def on_vote_close(self, session: AsyncSession, view: VoteView, answered_in: str | None) -> None:
        if not self.enabled or not await outbox_q.with_prefix(session, f"forum:vote:{view.id}:open"):
            return  # opened before the forum was configured: no topic to answer in
        await self.outbox.enqueue(
            session, key=f"forum:vote:{view.id}:result", workspace_id=view.workspace_id, kind="forum_post",
            target=f"ext:{vote_external_id(view.id)}",
            reply=Reply(text=forum_text.vote_result(view, self.settings.default_display_zones), ephemeral=False,
                        kind="vote", data={"marker": f"vote-result:{view.id}"}))
