"""Which meetings a series has in a window: the weekly rule's occurrences, overridden by the stored
meetings (status, host, note-taker) and joined by one-off meetings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.rules.time import WeeklyRule

EXTRA_PREFIX = "extra:"


@dataclass(frozen=True)
class Occurrence:
    key: str  # local date for a regular occurrence, "extra:<iso>" for a one-off
    starts_at: datetime
    timezone: str
    duration: timedelta
    status: str = "scheduled"
    name: str | None = None
    host: str | None = None
    note_taker: str | None = None
    meeting_id: int | None = None  # None until something is attached and the meeting is stored
    number: int | None = None  # the stored meeting's number in its workspace (meeting=#4)

    @property
    def is_extra(self) -> bool:
        return self.key.startswith(EXTRA_PREFIX)

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def regular_key(day: date) -> str:
    return day.isoformat()


def extra_key(starts_at: datetime) -> str:
    return f"{EXTRA_PREFIX}{starts_at:%Y-%m-%dT%H:%MZ}"


def plan(
    rule: WeeklyRule,
    duration: timedelta,
    stored: Iterable[Occurrence],
    start: datetime,
    end: datetime,
) -> list[Occurrence]:
    """Every meeting with ``start <= starts_at < end``, in time order."""
    by_key = {m.key: m for m in stored}
    found: dict[str, Occurrence] = {}
    for day, instant in rule.between(start, end):
        key = regular_key(day)
        found[key] = by_key.get(key) or Occurrence(key, instant, rule.zone, duration)
    for key, meeting in by_key.items():
        if key not in found and start <= meeting.starts_at < end:
            found[key] = meeting
    return sorted(found.values(), key=lambda m: (m.starts_at, m.key))


def with_status(meeting: Occurrence, status: str) -> Occurrence:
    return replace(meeting, status=status)


def as_settled(occurrence: Occurrence, has_items: bool, now: datetime) -> Occurrence:
    """A meeting that has started is held (it had agenda items) or cancelled (it had none), as the tick at
    its deadline and start would have marked it: so it reads right even when no tick ran then (the bot was
    down, for any length of time). Only for showing; the tick stores the same status."""
    if occurrence.status != "scheduled" or occurrence.starts_at > now:
        return occurrence
    return replace(occurrence, status="held" if has_items else "cancelled")
