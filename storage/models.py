"""The tables. Member references are stored as platform member ids (``console:alice``,
``slack:T0001:U0001``, ``discord:80351110224678912``) so records read the same in every export.

Later features add their tables below, each in a section of its own with its own migration."""

# No ``from __future__ import annotations`` here: with it every field's annotation is a string that
# pydantic and SQLAlchemy must evaluate again when each table class is built, about a third of this
# module's import time (which every command and `quorum run` pay). The annotations need no postponing.

from datetime import UTC, date, datetime

from sqlalchemy import DDL, Column, Index, Integer, Text, UniqueConstraint, event, text
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# A series not planned yet (new, or from before migration 0010) is due at once.
PLAN_NOW = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Workspace(SQLModel, table=True):
    """A Discord guild, a Slack team, or a console workspace."""

    id: str = Field(primary_key=True, max_length=100)
    platform: str = Field(max_length=20)  # console | discord | slack
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=_utc())
    # The series write commands use when the channel they are typed in is no series' channel and the
    # workspace has several (``/meeting series default``, migration 0015). No foreign key: series point at
    # their workspace already, and a cycle would complicate creating and dropping the tables.
    default_series_id: int | None = Field(default=None)


class WorkspaceCounter(SQLModel, table=True):
    """The last number handed out in a workspace for one kind of record (``meeting``, ``agendaitem``,
    ``vote``, ``rotationswap``), so the numbers members type are per workspace: the first vote of a new
    workspace is #1 and no number reveals another workspace's activity (migration 0015). Incremented in
    the transaction that inserts the record; on PostgreSQL the row lock orders concurrent inserts."""

    __tablename__ = "workspace_counter"

    workspace_id: str = Field(primary_key=True, max_length=100)
    kind: str = Field(primary_key=True, max_length=20)
    last_number: int


class Member(SQLModel, table=True):
    """What we know of a member inside one workspace: their name and their own preferences."""

    workspace_id: str = Field(primary_key=True, foreign_key="workspace.id", max_length=100)
    id: str = Field(primary_key=True, max_length=120)
    display_name: str = Field(max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    # "24h,1h" style offsets for personal reminders; "off" opts out; None means the defaults.
    reminder_offsets: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(sa_column=_utc())


class RoleGrant(SQLModel, table=True):
    """A member seen holding a role, by source: ``platform`` (what Discord, Slack or the console said
    the last time the member acted, or a role listing) or ``config``."""

    workspace_id: str = Field(primary_key=True, foreign_key="workspace.id", max_length=100)
    member_id: str = Field(primary_key=True, max_length=120)
    role: str = Field(primary_key=True, max_length=100)
    source: str = Field(primary_key=True, max_length=20)
    seen_at: datetime = Field(sa_column=_utc())


class Series(SQLModel, table=True):
    """A standing weekly meeting, anchored in its home zone."""

    __table_args__ = (
        # Slugs are names within one workspace (migration 0015): another workspace may have its own community.
        UniqueConstraint("workspace_id", "slug", name="uq_series_workspace_slug"),
        UniqueConstraint("feed_name", name="uq_series_feed_name"),
        # The scheduler tick selects the series whose planning is due (migration 0010).
        Index("ix_series_plan_at", "plan_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=100)
    slug: str = Field(max_length=40)
    # The series' name in public calendar URLs and event UIDs, unique across workspaces: its slug, or the
    # slug and a random suffix when another workspace took the slug first (migration 0015).
    feed_name: str = Field(max_length=60)
    name: str = Field(max_length=200)
    weekday: int  # Monday is 0
    local_time: str = Field(max_length=5)  # HH:MM in the home zone
    timezone: str = Field(max_length=64)
    start_date: date
    duration_minutes: int = 60
    deadline_minutes: int = 24 * 60
    display_zones: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # comma list
    link_hosts: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # comma list
    channel: str | None = Field(default=None, max_length=120)
    feed_token: str | None = Field(default=None, max_length=80)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=_utc())
    # Bumped by every change to the series or its meetings: the calendar feed's cache key.
    updated_at: datetime = Field(sa_column=_utc())
    # Reminder planning (bot/services/reminders.py, migration 0010): the next instant the planner has
    # something to do for this series; every change that affects its messages sets it to now (so the
    # tick costs by what is due, not by how many series exist). ``plan_version`` counts those changes:
    # the planner stores its next instant only if none happened while it planned.
    plan_at: datetime = Field(default=PLAN_NOW, sa_column=Column(
        UTCDateTime(), nullable=False, server_default="1970-01-01 00:00:00"))
    plan_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # The forum (docs/forum.md, migration 0013): the category of this series' meeting topics (None: the
    # config's default), and the pre-RFC rule: a linked forum topic must have been published at least
    # this many minutes before the meeting (None: no rule).
    forum_category: str | None = Field(default=None, max_length=100)
    published_before_minutes: int | None = None


class Meeting(SQLModel, table=True):
    """One occurrence of a series, stored once something is attached to it (an agenda item, a status
    change, an assignment). Occurrences with nothing attached are computed from the series rule.

    ``occurrence_key`` is the local date (``2022-03-02``) for a regular occurrence and
    ``extra:<UTC ISO instant>`` for a one-off meeting of the series."""

    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_key", name="uq_meeting_occurrence"),
        # Every view looks meetings up by series and time range (migration 0006): a long-running series
        # is not scanned and sorted whole for each command.
        Index("ix_meeting_series_starts", "series_id", "starts_at"),
        Index("uq_meeting_workspace_number", "workspace_id", "number", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=100)
    series_id: int = Field(foreign_key="series.id")
    # The number members type (meeting=#4), per workspace (migration 0015); ``id`` stays the stable id.
    number: int | None = Field(default=None, sa_column=Column(Integer, nullable=False))
    occurrence_key: str = Field(max_length=60)
    starts_at: datetime = Field(sa_column=_utc())
    timezone: str = Field(max_length=64)
    name: str | None = Field(default=None, max_length=200)
    duration_minutes: int = 60
    status: str = Field(default="scheduled", max_length=20)  # scheduled | cancelled | held
    status_reason: str | None = Field(default=None, max_length=200)
    status_changed_by: str | None = Field(default=None, max_length=120)
    host: str | None = Field(default=None, max_length=120)
    note_taker: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())
    # When host and note-taker were fixed (at the agenda deadline); None while they are provisional.
    # Added by migration 0002 (rotation).
    assigned_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class AgendaItem(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("meeting_id", "link_key", name="uq_agenda_link"),
        Index("ix_agenda_meeting_position", "meeting_id", "position"),
        Index("uq_agendaitem_workspace_number", "workspace_id", "number", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    # Per-workspace number members type (#3), migration 0015; the meeting's workspace, kept here for it.
    workspace_id: str = Field(max_length=100)
    number: int | None = Field(default=None, sa_column=Column(Integer, nullable=False))
    position: int
    title: str = Field(max_length=200)
    link: str = Field(max_length=500)
    link_key: str = Field(max_length=500)
    author: str = Field(max_length=120)
    author_name: str = Field(max_length=200)
    added_at: datetime = Field(sa_column=_utc())


class Subscription(SQLModel, table=True):
    """A member who asked for reminders of every meeting of a series."""

    series_id: int = Field(primary_key=True, foreign_key="series.id")
    member_id: str = Field(primary_key=True, max_length=120)
    created_at: datetime = Field(sa_column=_utc())


class ProcessedRequest(SQLModel, table=True):
    """Keys of platform requests already handled (Slack retries, Discord interaction ids), so a
    retried request never repeats a side effect. A request acknowledged before it runs (a Slack command)
    is kept ``accepted`` with its payload until it has run (migration 0011), so one a crash interrupted is
    run after the lease, by this process after a restart or by another replica."""

    __table_args__ = (
        Index("ix_processedrequest_accepted", "lease_until", postgresql_where=text("state = 'accepted'"),
              sqlite_where=text("state = 'accepted'")),
    )

    key: str = Field(primary_key=True, max_length=200)
    created_at: datetime = Field(sa_column=_utc())
    state: str = Field(default="done", max_length=10,
                       sa_column_kwargs={"server_default": "done"})  # accepted | done | failed
    payload: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    lease_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    accepted_by: str | None = Field(default=None, max_length=200)  # the replica (QUORUM_REPLICA) that acked it


# -- Discord adapter (migration 0003) ------------------------------------------------------------------------


class DiscordEvent(SQLModel, table=True):
    """A meeting mirrored as a Discord guild scheduled event, so a restart updates the event it made
    instead of creating another."""

    series_id: int = Field(primary_key=True, foreign_key="series.id")
    occurrence_key: str = Field(primary_key=True, max_length=60)
    guild_id: str = Field(max_length=30)
    event_id: str = Field(max_length=30)
    name: str = Field(max_length=200)
    starts_at: datetime = Field(sa_column=_utc())
    ends_at: datetime = Field(sa_column=_utc())
    status: str = Field(max_length=20)  # scheduled | cancelled
    updated_at: datetime = Field(sa_column=_utc())


# -- Rotation (host and note-taker) and meeting notes, migration 0002 ----------------------------------------
# The fixed assignment is ``Meeting.host`` / ``Meeting.note_taker``; ``Meeting.assigned_at`` (migration 0002) says when.


class RotationMember(SQLModel, table=True):
    """One stint of a member on a series' roster for a duty (``host`` or ``notes``). Leaving sets
    ``left_at``; rejoining adds a new stint, so the history of who was eligible when is kept."""

    __table_args__ = (Index("ix_rotationmember_series_duty", "series_id", "duty"),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id")
    duty: str = Field(max_length=10)
    member_id: str = Field(max_length=120)
    joined_at: datetime = Field(sa_column=_utc())
    left_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class RotationSkip(SQLModel, table=True):
    """A member who cannot make a meeting: they are not picked for either duty on it."""

    __table_args__ = (UniqueConstraint("meeting_id", "member_id", name="uq_rotationskip_member"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=_utc())


class RotationCheckpoint(SQLModel, table=True):
    """The rotation replay's standing (turns, last turns, who was on the roster) after every meeting of
    the series that started at or before ``through_at``. Those meetings can no longer change (skips,
    swaps, assignments, cancellations and agenda edits are for upcoming meetings only), so views replay
    from the latest checkpoint instead of the whole history (bot/services/rotation.py). Migration 0009."""

    series_id: int = Field(primary_key=True, foreign_key="series.id")
    through_at: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    state: str = Field(sa_column=Column(Text, nullable=False))  # JSON of bot.rules.rotation.Rotation.snapshot()
    created_at: datetime = Field(sa_column=_utc())


class RotationSwap(SQLModel, table=True):
    """A member offering their turn on a meeting to another; it applies once the other accepts."""

    __table_args__ = (Index("uq_rotationswap_workspace_number", "workspace_id", "number", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id", index=True)
    # Per-workspace number members type (#3), migration 0015; the series' workspace, kept here for it.
    workspace_id: str = Field(max_length=100)
    number: int | None = Field(default=None, sa_column=Column(Integer, nullable=False))
    meeting_id: int = Field(foreign_key="meeting.id")
    duty: str = Field(max_length=10)
    from_member: str = Field(max_length=120)
    to_member: str = Field(max_length=120)
    status: str = Field(default="proposed", max_length=10)  # proposed | accepted | declined
    created_at: datetime = Field(sa_column=_utc())
    decided_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class RotationAssignment(SQLModel, table=True):
    """A chair's direct assignment of a duty on one meeting; it overrides the fair pick."""

    __table_args__ = (UniqueConstraint("meeting_id", "duty", name="uq_rotationassignment_duty"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    duty: str = Field(max_length=10)
    member_id: str = Field(max_length=120)
    assigned_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=_utc())


class MeetingNote(SQLModel, table=True):
    """A note, decision or action item recorded during or after a meeting, optionally against one of
    its agenda items; action items may name an owner."""

    __table_args__ = (Index("ix_meetingnote_meeting", "meeting_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    kind: str = Field(default="note", max_length=10)  # note | decision | action
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: str | None = Field(default=None, max_length=120)
    author: str = Field(max_length=120)
    author_name: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=_utc())


# -- Votes (issue 3), migration 0004 -------------------------------------------------------------------------


class Vote(SQLModel, table=True):
    """A binding vote. ``head_digest`` is the hash of the last event in its log (see ``VoteEvent``)."""

    __tablename__ = "vote"
    __table_args__ = (
        Index("ix_vote_status_closes_at", "status", "closes_at"),
        Index("uq_vote_workspace_number", "workspace_id", "number", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=100)
    # The number members type (#3), per workspace (migration 0015); ``id`` stays the export's stable id.
    number: int | None = Field(default=None, sa_column=Column(Integer, nullable=False))
    title: str = Field(max_length=200)
    link: str | None = Field(default=None, max_length=500)
    rule: str = Field(max_length=40)
    binding_role: str = Field(max_length=100)
    opened_by: str = Field(max_length=120)
    opened_at: datetime = Field(sa_column=_utc())
    closes_at: datetime = Field(sa_column=_utc())
    # Opened for less than the 72 h minimum with force=yes; the result says so.
    short_forced: bool = False
    channel_id: str | None = Field(default=None, max_length=120)
    status: str = Field(default="open", max_length=20)  # open | closed
    closed_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    closed_by: str | None = Field(default=None, max_length=120)  # None: closed at its deadline
    close_forced: bool = False
    outcome: str | None = Field(default=None, max_length=20)  # passed | rejected | no-quorum
    explanation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    head_digest: str = Field(max_length=64)
    electorate_digest: str = Field(max_length=64)
    electorate_size: int
    # The running tally of the current ballots (migration 0008), kept in each cast's transaction, so
    # that a cast, a status and a close read six numbers instead of every ballot. Derived data: quorum
    # verify checks it against the ballots, and storage.queries.votes.recount_tally rebuilds it.
    tally_binding_plus: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tally_binding_zero: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tally_binding_minus: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tally_other_plus: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tally_other_zero: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    tally_other_minus: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The hash of the vote's opening event (migration 0014): the digest the vote message shows, which
    # covers the title, rule, deadline and electorate; quorum verify --digest checks it (docs/votes.md).
    opened_digest: str | None = Field(default=None, max_length=64)
    # The opener's and the closer's names as the vote shows them, kept as logged (migration 0014) rather
    # than read from the members' current names: what a vote shows is its record.
    opened_by_name: str | None = Field(default=None, max_length=200)
    closed_by_name: str | None = Field(default=None, max_length=200)


class VoteMessage(SQLModel, table=True):
    """A platform message that shows a vote's live tally (``channel id:message id`` on Discord), so the
    close can redraw it as the result. Not part of the vote's record or its hash chain (migration 0007)."""

    __tablename__ = "vote_message"

    vote_id: int = Field(primary_key=True, foreign_key="vote.id")
    message_ref: str = Field(primary_key=True, max_length=200)
    recorded_at: datetime = Field(sa_column=_utc())


class VoteElectorate(SQLModel, table=True):
    """The snapshot of the binding role's holders taken when the vote opened."""

    __tablename__ = "vote_electorate"

    vote_id: int = Field(primary_key=True, foreign_key="vote.id")
    member_id: str = Field(primary_key=True, max_length=120)
    display_name: str = Field(max_length=200)
    # Where the member's binding status came from (migration 0014): "listing" (the platform's own listing
    # of the role), "config", or "seen" (the platform reported the role when the member last acted, at
    # ``seen_at``). None for votes opened before 0014, whose logs do not say.
    source: str | None = Field(default=None, max_length=20)
    seen_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))


class VoteBallot(SQLModel, table=True):
    """A member's CURRENT ballot. One row per (vote, voter), kept so by the unique constraint and an
    upsert, so two simultaneous casts leave exactly one. Every earlier ballot is in ``VoteEvent``."""

    __tablename__ = "ballot"
    __table_args__ = (
        UniqueConstraint("vote_id", "voter", name="uq_ballot_vote_voter"),
        # A vote's ballots in the order members first voted, read a page at a time (export, verify);
        # and its binding ones alone (at most the electorate), which is all a vote's message shows.
        Index("ix_ballot_vote_order", "vote_id", "id"),
        Index("ix_ballot_vote_binding", "vote_id", "binding", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id")
    voter: str = Field(max_length=120)
    voter_name: str = Field(max_length=200)
    value: str = Field(max_length=2)  # +1 | +0 | 0 | -0 | -1, as cast
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    binding: bool  # the voter was in the electorate snapshot
    cast_at: datetime = Field(sa_column=_utc())
    changes: int = 0  # how many times the voter changed this ballot


class VoteEvent(SQLModel, table=True):
    """An append-only, hash-chained event of a vote's log: open, ballot, change or close."""

    __tablename__ = "vote_event"
    __table_args__ = (UniqueConstraint("vote_id", "seq", name="uq_vote_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id")
    seq: int
    kind: str = Field(max_length=20)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    created_at: datetime = Field(sa_column=_utc())
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
# -- Reminders and the outbox (issue 6), migration 0005 ------------------------------------------------------


class OutboxMessage(SQLModel, table=True):
    """One outbound message (DM, channel post, message update), written in the transaction of the change
    that causes it. ``key`` makes writing it idempotent; the dispatcher claims due rows with a lease
    (``claimed_by`` + ``lease_until``) so exactly one process sends each row, and a crashed process's
    claim runs out and the row is claimed again.

    status: pending | sent | failed | missed (became useless before it could be sent) | cancelled."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        # The few pending rows among the many sent ones, whatever the planner's statistics say of status
        # (SQLite's ANALYZE keeps only an average per value): the claim and the next wake-up (0010).
        Index("ix_outbox_pending", "next_attempt_at", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)
    workspace_id: str = Field(max_length=100)
    kind: str = Field(max_length=20)  # dm | channel | update
    target: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON of reply_to_json()
    fallback_channel: str | None = Field(default=None, max_length=200)
    due_at: datetime = Field(sa_column=_utc())
    # After this instant sending is pointless (the meeting started): the row is marked missed instead.
    expires_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    next_attempt_at: datetime = Field(sa_column=_utc())
    sent_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    platform_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_utc())


# Prefix lookups of keys (storage/queries/outbox.py) compare bytes. SQLite's unique index on key does
# (BINARY collation); a PostgreSQL btree in a linguistic collation does not, so PostgreSQL gets an index
# in pattern order (migration 0010 creates it there only; this is the same for metadata.create_all).
OUTBOX_KEY_PATTERN_INDEX = "ix_outbox_key_pattern"
event.listen(OutboxMessage.__table__, "after_create", DDL(  # type: ignore[attr-defined]
    f"CREATE INDEX {OUTBOX_KEY_PATTERN_INDEX} ON outbox (key text_pattern_ops)").execute_if(dialect="postgresql"))


# -- GitHub (migration 0012, docs/github.md) -----------------------------------------------------------------


class GitHubLogin(SQLModel, table=True):
    """A member's GitHub login (``/me github <login>``): items they label on GitHub are theirs."""

    __tablename__ = "github_login"
    __table_args__ = (UniqueConstraint("workspace_id", "login", name="uq_github_login"),)

    workspace_id: str = Field(primary_key=True, max_length=100)
    member_id: str = Field(primary_key=True, max_length=120)
    login: str = Field(max_length=40)  # lower case: GitHub logins are case-insensitive
    created_at: datetime = Field(sa_column=_utc())


class GitHubLabelItem(SQLModel, table=True):
    """One labelling of an issue or PR (the ``labeled`` event's moment) and the agenda item it became, so
    a label seen again on the next poll adds nothing, a label kept after the meeting does not carry the
    item to the next one, and removing the label before the deadline removes the item it added.
    ``item_id`` is None when the link was already on that agenda from chat (that item stays the
    member's)."""

    __tablename__ = "github_label_item"
    __table_args__ = (
        UniqueConstraint("series_id", "repo", "number", "labelled_at", name="uq_github_label_item"),
        Index("ix_github_label_item_repo", "repo", "number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    series_id: int = Field(foreign_key="series.id")
    repo: str = Field(max_length=140)  # owner/name, lower case
    number: int
    labelled_at: datetime = Field(sa_column=_utc())
    meeting_id: int = Field(foreign_key="meeting.id")
    item_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_column=_utc())
