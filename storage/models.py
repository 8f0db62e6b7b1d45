"""The tables. Member references are stored as platform member ids (``console:alice``,
``slack:T0001:U0001``, ``discord:80351110224678912``) so records read the same in every export.

Later features add their tables below, each in a section of its own with its own migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _utc(nullable: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable)


class Workspace(SQLModel, table=True):
    """A Discord guild, a Slack team, or a console workspace."""

    id: str = Field(primary_key=True, max_length=100)
    platform: str = Field(max_length=20)  # console | discord | slack
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(sa_column=_utc())


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

    __table_args__ = (UniqueConstraint("slug", name="uq_series_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=100)
    slug: str = Field(max_length=40)
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


class Meeting(SQLModel, table=True):
    """One occurrence of a series, stored once something is attached to it (an agenda item, a status
    change, an assignment). Occurrences with nothing attached are computed from the series rule.

    ``occurrence_key`` is the local date (``2022-03-02``) for a regular occurrence and
    ``extra:<UTC ISO instant>`` for a one-off meeting of the series."""

    __table_args__ = (UniqueConstraint("series_id", "occurrence_key", name="uq_meeting_occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(foreign_key="workspace.id", index=True, max_length=100)
    series_id: int = Field(foreign_key="series.id", index=True)
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


class AgendaItem(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("meeting_id", "link_key", name="uq_agenda_link"),
        Index("ix_agenda_meeting_position", "meeting_id", "position"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
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
    retried request never repeats a side effect."""

    key: str = Field(primary_key=True, max_length=200)
    created_at: datetime = Field(sa_column=_utc())


# -- Reminders and the outbox (issue 6) ------------------------------------------------------------


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
