"""Read models the services hand to commands, web pages and exports: frozen, no database objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.rules.meetings import Occurrence
from bot.rules.parsing import WEEKDAY_NAMES
from bot.rules.time import ONE_OFFS_ONLY, WeeklyRule, agenda_deadline
from storage.records import AgendaItemRecord, MeetingRecord, SeriesRecord


def split_list(text: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in text.split(",")) if part)


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    workspace_id: str
    slug: str
    name: str
    weekday: int
    local_time: time
    timezone: str
    start_date: date
    duration: timedelta
    deadline: timedelta
    display_zones: tuple[str, ...]
    link_hosts: tuple[str, ...]
    channel: str | None
    feed_token: str | None
    updated_at: datetime
    forum_category: str | None = None
    published_before: timedelta | None = None  # the pre-RFC rule (docs/forum.md)
    # The series' name in calendar URLs and event UIDs (unique across workspaces, unlike the slug).
    feed_name: str = ""

    @property
    def standing(self) -> bool:
        """False for the series that holds a workspace's one-off meetings and has no weekly meeting."""
        return self.weekday != ONE_OFFS_ONLY

    def meets(self) -> str:
        """When it meets, in words: "Wednesdays at 08:00 America/Los_Angeles" or "one-off meetings only"."""
        if not self.standing:
            return "one-off meetings only"
        return f"{WEEKDAY_NAMES[self.weekday]}s at {self.local_time:%H:%M} {self.timezone}"

    @property
    def rule(self) -> WeeklyRule:
        return WeeklyRule(self.weekday, self.local_time, self.timezone, self.start_date)

    @classmethod
    def of(cls, row: SeriesRecord) -> SeriesInfo:
        assert row.id is not None
        hour, minute = (int(p) for p in row.local_time.split(":"))
        return cls(
            id=row.id, workspace_id=row.workspace_id, slug=row.slug, name=row.name, weekday=row.weekday,
            local_time=time(hour, minute), timezone=row.timezone, start_date=row.start_date,
            duration=timedelta(minutes=row.duration_minutes), deadline=timedelta(minutes=row.deadline_minutes),
            display_zones=split_list(row.display_zones), link_hosts=split_list(row.link_hosts),
            channel=row.channel, feed_token=row.feed_token, updated_at=row.updated_at, feed_name=row.feed_name,
            forum_category=row.forum_category,
            published_before=(timedelta(minutes=row.published_before_minutes)
                              if row.published_before_minutes is not None else None),
        )


@dataclass(frozen=True)
class AgendaEntry:
    id: int
    position: int
    title: str
    link: str
    author: str
    author_name: str
    added_at: datetime
    # The number members type (#3), per workspace; ``id`` is the stable id kept in exports.
    number: int = 0

    @classmethod
    def of(cls, row: AgendaItemRecord) -> AgendaEntry:
        assert row.id is not None and row.number is not None
        return cls(row.id, row.position, row.title, row.link, row.author, row.author_name, row.added_at,
                   row.number)


def occurrence_of(row: MeetingRecord) -> Occurrence:
    return Occurrence(
        key=row.occurrence_key, starts_at=row.starts_at, timezone=row.timezone,
        duration=timedelta(minutes=row.duration_minutes), status=row.status, name=row.name, host=row.host,
        note_taker=row.note_taker, meeting_id=row.id, number=row.number,
    )


@dataclass(frozen=True)
class MeetingView:
    series: SeriesInfo
    occurrence: Occurrence
    agenda: tuple[AgendaEntry, ...] = ()
    names: tuple[tuple[str, str], ...] = ()  # member id -> display name, for host and note-taker
    # True when host and note-taker are the rotation's current pick, not yet fixed (at the deadline).
    provisional: bool = False

    @property
    def starts_at(self) -> datetime:
        return self.occurrence.starts_at

    @property
    def deadline(self) -> datetime:
        return agenda_deadline(self.occurrence.starts_at, self.series.deadline)

    @property
    def local_date(self) -> date:
        return self.occurrence.starts_at.astimezone(ZoneInfo(self.series.timezone)).date()

    @property
    def status(self) -> str:
        return self.occurrence.status

    @property
    def title(self) -> str:
        return self.occurrence.name or self.series.name

    def name_of(self, member_id: str | None) -> str | None:
        if member_id is None:
            return None
        return dict(self.names).get(member_id, member_id.split(":")[-1])
