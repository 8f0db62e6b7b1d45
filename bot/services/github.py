"""GitHub use cases (docs/github.md): agenda items from a label, members' GitHub logins, and the real
title of a linked issue or pull request.

An open issue or PR carrying a series' label becomes an item of the series' next meeting whose agenda
deadline is after the moment the label was added (the 24-hour rule applies to that moment, not to when
Quorum happened to read it). Removing the label (or closing the issue) before that deadline removes the
item; after it, the item stays on the record. A link already on the agenda from chat stays one item. The
reading is done by a ``GitHubReader`` (bot/adapters/github/) outside any transaction; what it found is
applied in one transaction per series and repository, decided by unique constraints, so a poll and a
webhook, or two replicas, at once add nothing twice."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.github import GitHubReader, GitHubUnavailable, LabelledIssue
from bot.errors import Conflict, InvalidInput
from bot.rules.agenda import MAX_ITEMS_PER_MEETING
from bot.rules.github_links import issue_ref
from bot.rules.links import MAX_TITLE_LENGTH, normalize_link
from bot.services.agenda import FetchedTitle
from bot.services.meetings import MeetingService
from bot.services.views import MeetingView, SeriesInfo, occurrence_of
from storage.db import AsyncSession, Database
from storage.queries import agenda as agenda_q
from storage.queries import github as q
from storage.queries import meetings as meetings_q
from storage.queries import members as members_q

log = logging.getLogger("quorum.github")

# GitHub logins: letters, digits and single hyphens, at most 39 characters, not starting with a hyphen.
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# How many upcoming meetings are looked at for the one a labelled item goes to.
LOOKAHEAD_MEETINGS = 6


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)  # "owner/repo#n -> meeting starts_at"
    removed: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # no meeting open for it yet


class GitHubService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, meetings: MeetingService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.meetings = meetings
        # Set by the composition root when GITHUB_TOKEN is set (bot/app.py); None: GitHub is off.
        self.reader: GitHubReader | None = None
        self._next_poll: datetime | None = None
        self._polling: asyncio.Task[None] | None = None

    @property
    def on(self) -> bool:
        return self.reader is not None and bool(self.settings.github.repositories)

    # -- the schedule and the webhook --------------------------------------------------------------------

    async def start_poll(self) -> None:
        """The ticker's job: start ``poll_tick`` in the background and return at once, so a slow GitHub
        never holds up the reminders of the same tick. One poll at a time."""
        if self._polling is not None and not self._polling.done():
            return
        self._polling = asyncio.create_task(self.poll_tick(), name="github-poll")
        self._polling.add_done_callback(_log_failure)

    async def stop_poll(self) -> None:
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)

    async def poll_tick(self) -> None:
        """Run from the ticker: read every configured repository once per ``poll_seconds``."""
        now = self.clock.now()
        if not self.on or not self.settings.github.labels or (self._next_poll is not None and now < self._next_poll):
            return
        self._next_poll = now + timedelta(seconds=self.settings.github.poll_seconds)
        for repo in self.settings.github.repositories:
            try:
                await self.sync_repo(repo)
            except GitHubUnavailable as exc:
                log.warning("GitHub: could not read %s (%s); trying again at the next poll", repo, exc)

    async def sync_repo(self, repo: str) -> SyncReport:
        """Read ``repo``'s labelled issues for every series with a label, and apply them."""
        report = SyncReport()
        configured = {r.lower(): r for r in self.settings.github.repositories}
        if self.reader is None or repo.lower() not in configured:
            return report
        repo = configured[repo.lower()]
        for slug, label in self.settings.github.labels.items():
            issues = await self.reader.labelled(repo, label)
            await self._apply(slug, repo, issues, report)
        return report

    async def _apply(self, slug: str, repo: str, issues: Sequence[LabelledIssue], report: SyncReport) -> None:
        now = self.clock.now()
        changed = False
        async with self.db.write() as session:
            # [github] labels names series by their calendar name (the slug, unless another workspace had
            # it first): the one name of a series that is unique across the workspaces a deployment serves.
            row = await meetings_q.series_by_feed_name(session, slug)
            if row is None:
                log.warning("GitHub: [github] labels names series '%s', which does not exist", slug)
                return
            series = SeriesInfo.of(row)
            known = await q.labellings_of(session, series.id, repo)
            seen = {(k.number, k.labelled_at) for k in known}
            labelled_now = {issue.number for issue in issues}
            for issue in issues:
                if (issue.number, issue.labelled_at) not in seen:
                    changed |= await self._add(session, series, issue, report)
            for labelling in known:
                if labelling.number not in labelled_now:
                    changed |= await self._unlabelled(session, series, labelling.id, labelling.meeting_id,
                                                      labelling.item_id, f"{repo}#{labelling.number}", report)
            if changed:
                await meetings_q.touch_series(session, series.id, now)
        if changed:
            self.meetings.notify_changed(series.id)

    async def _add(self, session: AsyncSession, series: SeriesInfo, issue: LabelledIssue, report: SyncReport) -> bool:
        """Put a newly labelled issue on the first meeting whose deadline is after the labelling."""
        now = self.clock.now()
        name = f"{issue.repo}#{issue.number}"
        target = None
        for occurrence in await self.meetings.upcoming_in(session, series, LOOKAHEAD_MEETINGS,
                                                          include_cancelled=False):
            if MeetingView(series, occurrence).deadline > issue.labelled_at:
                target = occurrence
                break
        if target is None:
            report.waiting.append(name)
            return False
        meeting = await self.meetings.stored(session, series, target)
        assert meeting.id is not None
        await meetings_q.lock_meeting(session, meeting.id)
        items = await agenda_q.items_of(session, meeting.id)
        if len(items) >= MAX_ITEMS_PER_MEETING:
            log.warning("GitHub: %s not added, the agenda of %s is full", name, meeting.starts_at)
            report.waiting.append(name)
            return False
        author, author_name = await self._author(session, series.workspace_id, issue.labelled_by)
        item = await agenda_q.insert_item(session, {
            "meeting_id": meeting.id, "workspace_id": series.workspace_id,
            "position": max((i.position for i in items), default=0) + 1, "title": _title(issue.title),
            "link": issue.url, "link_key": normalize_link(issue.url),
            "author": author, "author_name": author_name, "added_at": now,
        })
        recorded = await q.record_labelling(session, {
            "series_id": series.id, "repo": issue.repo.lower(), "number": issue.number,
            "labelled_at": issue.labelled_at, "meeting_id": meeting.id, "item_id": item.id if item else None,
            "created_at": now,
        })
        if item is not None and recorded:
            report.added.append(f"{name} -> {meeting.starts_at:%Y-%m-%d %H:%M}Z")
        return item is not None

    async def _unlabelled(self, session: AsyncSession, series: SeriesInfo, labelling_id: int | None,
                          meeting_id: int, item_id: int | None, name: str, report: SyncReport) -> bool:
        """The label is gone: before the deadline the item it added goes too; after it, both stay."""
        meeting = await meetings_q.meeting_by_id(session, meeting_id)
        assert meeting is not None and labelling_id is not None
        if MeetingView(series, occurrence_of(meeting)).deadline <= self.clock.now():
            return False
        await meetings_q.lock_meeting(session, meeting_id)
        await q.forget_labelling(session, labelling_id)
        if item_id is None or await agenda_q.get_item(session, item_id) is None:
            return False
        await agenda_q.delete_item(session, item_id)
        remaining = await agenda_q.items_of(session, meeting_id)
        await agenda_q.set_positions(session, remaining, [i.id for i in remaining if i.id is not None])
        report.removed.append(name)
        return True

    async def _author(self, session: AsyncSession, workspace_id: str, login: str | None) -> tuple[str, str]:
        """The member who linked ``login`` (``/me github``), else the GitHub account itself."""
        if login:
            member = await q.login_owner(session, workspace_id, login)
            if member is not None:
                names = await members_q.display_names(session, workspace_id, [member])
                return member, names.get(member, member.split(":")[-1])
            return f"github:{login.lower()}", f"{login} (GitHub)"
        return "github:unknown", "GitHub"

    # -- members -------------------------------------------------------------------------------------------

    async def link_login(self, actor: Actor, login: str) -> str:
        login = login.strip().removeprefix("@")
        if not _LOGIN.match(login):
            raise InvalidInput(f"'{login[:60]}' is not a GitHub login: give the name in your profile's address, "
                               "e.g. /me github octocat for https://github.com/octocat.")
        async with self.db.write() as session:
            owner = await q.login_owner(session, actor.workspace_id, login)
            if owner is not None and owner != actor.member_id:
                names = await members_q.display_names(session, actor.workspace_id, [owner])
                raise Conflict(f"The GitHub login {login} is already linked to {names.get(owner, owner)}: a login "
                               "belongs to one member; ask them or a chair if this is a mistake.")
            await q.set_login(session, actor.workspace_id, actor.member_id, login, self.clock.now())
        return login

    # -- titles --------------------------------------------------------------------------------------------

    async def title_of(self, link: str) -> FetchedTitle | None:
        """For a link to an issue or PR of a configured repository, its real title; never raises (GitHub
        down means a note, not a refused item). None for links that are not such links."""
        ref = issue_ref(link, self.settings.github.repositories)
        if ref is None or self.reader is None:  # not such a link, or GitHub is off (no GITHUB_TOKEN)
            return None
        try:
            return FetchedTitle(_title(await self.reader.title(ref.repo, ref.number)))
        except GitHubUnavailable as exc:
            log.info("GitHub: title of %s not fetched: %s", ref.target, exc)
            return FetchedTitle(None, f"The title of {ref.target} could not be fetched from GitHub ({exc}); "
                                   "your title is shown instead.")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("GitHub poll failed; it runs again at the next tick", exc_info=task.exception())


def _title(text: str) -> str:
    """An issue title as an item title: on one line, within the item title's length."""
    title = " ".join(text.split()) or "(untitled)"
    return title if len(title) <= MAX_TITLE_LENGTH else title[: MAX_TITLE_LENGTH - 1] + "…"
