"""Use cases. The only layer that combines rules with storage, inside one transaction each."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.outbound import Notifier, RoleDirectory
from bot.services.agenda import AgendaService
from bot.services.calendar import CalendarService
from bot.services.event_mirror import EventMirrorService
from bot.services.export import ExportService
from bot.services.meetings import MeetingService
from bot.services.members import MemberService
from bot.services.notes import NotesService
from bot.services.outbox import Outbox, OutboxDispatcher
from bot.services.reminders import DeadlineHook, DuePlanner, ReminderService
from bot.services.requests import RequestLog
from bot.services.rotation import RotationService
from bot.services.vote_notices import VoteNotices
from bot.services.votes import VoteService
from storage.db import Database


class Services:
    """Every service, built once from the database, the clock and the settings."""

    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.members = MemberService(db, clock, settings)
        self.meetings = MeetingService(db, clock, settings)
        self.agenda = AgendaService(db, clock, settings, self.meetings)
        self.export = ExportService(db, clock, settings)
        self.requests = RequestLog(db, clock)
        self.calendar = CalendarService(db, clock, settings, self.meetings)
        self.event_mirror = EventMirrorService(db, clock, settings, self.meetings)
        # Built before the services that write messages (rotation's DMs, published minutes).
        self.outbox = Outbox(clock)
        self.rotation = RotationService(db, clock, settings, self.meetings, self.outbox)
        self.notes = NotesService(db, clock, settings, self.meetings, self.rotation, self.outbox)
        # Filled by app.py with the adapters that are on: platform name -> notifier / role listing.
        self.notifiers: dict[str, Notifier] = {}
        self.role_directories: dict[str, RoleDirectory] = {}
        self.votes = VoteService(db, clock, settings, self.members, self.role_directories)
        # Reminders and the outbox (docs/reminders.md). Other services write messages with
        # ``outbox.enqueue(session, ...)`` in their own transaction. ``deadline_hooks`` run at a meeting's
        # agenda deadline before it is announced (rotation assigns host and note-taker there);
        # ``due_planners`` run on every tick (votes: reminders before close, automatic close).
        # Rotation fixes host and note-taker in the deadline step's transaction, so the announcement
        # names them; the step calls hooks only for meetings that will be held (no turn for cancelled ones).
        self.deadline_hooks: list[DeadlineHook] = [self.rotation.fix_assignment]
        self.due_planners: list[DuePlanner] = []
        self.reminders = ReminderService(db, clock, settings, self.meetings, self.outbox, self.deadline_hooks,
                                         self.due_planners)
        self.outbox_dispatcher = OutboxDispatcher(db, clock, settings, self.notifiers)
        # Votes and the outbox (docs/votes.md): the reminder before the close, the close at the deadline
        # and its [RESULT][VOTE] post, each in the transaction of the change that causes it.
        self.vote_notices = VoteNotices(settings, self.votes, self.outbox)
        self.votes.close_hooks.append(self.vote_notices.on_close)
        self.votes.cast_hooks.append(self.vote_notices.on_cast)
        self.due_planners.append(self.vote_notices.plan)
