"""Use cases. The only layer that combines rules with storage, inside one transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.outbound import Notifier, RoleDirectory
from bot.services.agenda import AgendaService
from bot.services.backup import BackupService
from bot.services.calendar import CalendarService
from bot.services.event_mirror import EventMirrorService
from bot.services.export import ExportService
from bot.services.forum import ForumRecord
from bot.services.github import GitHubService
from bot.services.meetings import MeetingService
from bot.services.members import MemberService
from bot.services.notes import NotesService
from bot.services.outbox import Outbox, OutboxDispatcher
from bot.services.reminders import DeadlineHook, DuePlanner, ReminderService
from bot.services.requests import RequestLog
from bot.services.rotation import RotationService
from bot.services.rotation_requests import RotationRequests
from bot.services.vote_audit import VoteAudit
from bot.services.vote_notices import VoteNotices
from bot.services.votes import VoteService
from storage.db import Database


@dataclass(eq=False)
class Services:
    """Every service of one process, as ``build_services`` in bot/app.py (the composition root) built and
    connected them. A plain container: it builds nothing and registers nothing itself."""

    db: Database
    clock: Clock
    settings: Settings
    members: MemberService
    meetings: MeetingService
    agenda: AgendaService
    export: ExportService
    backup: BackupService
    requests: RequestLog
    calendar: CalendarService
    event_mirror: EventMirrorService
    outbox: Outbox
    rotation: RotationService
    rotation_requests: RotationRequests
    notes: NotesService
    votes: VoteService
    vote_audit: VoteAudit
    vote_notices: VoteNotices
    reminders: ReminderService
    outbox_dispatcher: OutboxDispatcher
    # Platform name -> the notifier / role listing of each adapter that is on. The outbox dispatcher and
    # the vote service hold these same dicts, so adapters added after the services are seen by them.
    notifiers: dict[str, Notifier]
    role_directories: dict[str, RoleDirectory]
    # Run at a meeting's agenda deadline before it is announced, and on every tick (docs/reminders.md);
    # the reminder service holds these same lists.
    deadline_hooks: list[DeadlineHook]
    due_planners: list[DuePlanner]
    # Agenda items from GitHub labels, members' logins, issue titles (docs/github.md); its reader is set by
    # bot/app.py when GITHUB_TOKEN is set.
    github: GitHubService
    # The community's forum record (bot/services/forum.py); writes nothing unless a forum is configured.
    forum: ForumRecord | None = None
