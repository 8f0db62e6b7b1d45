"""Time rules: recurrence anchored in a home zone, agenda deadlines, and rendering of one instant in
several zones. Every conversion goes through the zone database for the date in question."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import InvalidInput
from bot.rules.parsing import WEEKDAY_NAMES


def is_nonexistent(local: datetime, zone: ZoneInfo) -> bool:
    """True when the wall time falls in a gap (clocks jumped over it)."""
    aware = local.replace(tzinfo=zone, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return round_trip != local.replace(fold=0)


def is_ambiguous(local: datetime, zone: ZoneInfo) -> bool:
    """True when the wall time happens twice (clocks were set back over it)."""
    first = local.replace(tzinfo=zone, fold=0).utcoffset()
    second = local.replace(tzinfo=zone, fold=1).utcoffset()
    return first != second and not is_nonexistent(local, zone)


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time, resolved as RFC 5545 does (and so as calendar clients do):
    in an overlap the first occurrence; in a gap the offset before the gap, so 02:30 on a
    spring-forward night becomes 03:30 of the new offset."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def strict_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Like ``to_instant`` but refuses a wall time that does not exist, for one-off meetings where the
    person typed the time and should choose a real one."""
    if is_nonexistent(local, zone):
        after_change = to_instant(local, zone).astimezone(zone)
        raise InvalidInput(
            f"{local:%Y-%m-%d %H:%M} does not exist in {zone.key}: the clocks skip ahead for daylight saving "
            f"that night. Choose a time that exists, such as {after_change:%H:%M}, or one before {local:%H}:00."
        )
    return to_instant(local, zone)


# The weekday of a series with no standing meeting: the one-off meetings of a workspace that has no
# weekly series (``/meeting add`` there creates one, with the workspace's defaults).
ONE_OFFS_ONLY = -1


@dataclass(frozen=True)
class WeeklyRule:
    """A standing meeting: every ``weekday`` at ``local_time`` in ``zone``, from ``start`` on; none at all
    when ``weekday`` is ``ONE_OFFS_ONLY``."""

    weekday: int
    local_time: time
    zone: str
    start: date

    def occurrence_dates(self, first: date) -> Iterator[date]:
        if self.weekday == ONE_OFFS_ONLY:
            return
        day = max(first, self.start)
        day += timedelta(days=(self.weekday - day.weekday()) % 7)
        while True:
            yield day
            day += timedelta(days=7)

    def instant_on(self, day: date) -> datetime:
        return to_instant(datetime.combine(day, self.local_time), ZoneInfo(self.zone))

    def occurrences(self, after: datetime, count: int) -> list[tuple[date, datetime]]:
        """The next ``count`` (local date, UTC instant) pairs starting strictly after ``after``."""
        zone = ZoneInfo(self.zone)
        # Start a day early: the local date in the home zone can be behind the UTC date.
        first = (after.astimezone(zone) - timedelta(days=1)).date()
        found: list[tuple[date, datetime]] = []
        for day in self.occurrence_dates(first):
            instant = self.instant_on(day)
            if instant > after:
                found.append((day, instant))
                if len(found) == count:
                    break
        return found

    def between(self, start: datetime, end: datetime) -> list[tuple[date, datetime]]:
        """Every occurrence with ``start <= instant < end``."""
        zone = ZoneInfo(self.zone)
        first = (start.astimezone(zone) - timedelta(days=1)).date()
        found: list[tuple[date, datetime]] = []
        for day in self.occurrence_dates(first):
            instant = self.instant_on(day)
            if instant >= end:
                break
            if instant >= start:
                found.append((day, instant))
        return found

    def is_occurrence(self, day: date) -> bool:
        return day >= self.start and day.weekday() == self.weekday  # never for ONE_OFFS_ONLY


def agenda_deadline(start: datetime, notice: timedelta) -> datetime:
    """The instant the agenda closes: ``notice`` of elapsed time before the start. Computed on UTC
    instants, so across a daylight-saving change the deadline's wall time shifts, not its length."""
    return start.astimezone(UTC) - notice


@dataclass(frozen=True)
class ZoneTime:
    zone: str
    local: datetime
    abbreviation: str
    other_weekday: bool

    def label(self) -> str:
        """``Thu 00:00 CST (Asia/Shanghai)``; the weekday only when it differs from the home weekday."""
        day = f"{self.local:%a} " if self.other_weekday else ""
        if self.zone == "UTC":
            return f"{day}{self.local:%H:%M} UTC"
        return f"{day}{self.local:%H:%M} {self.abbreviation} ({self.zone})"


def zone_time(instant: datetime, zone_name: str, home_day: date) -> ZoneTime:
    local = instant.astimezone(ZoneInfo(zone_name))
    return ZoneTime(
        zone=zone_name,
        local=local,
        abbreviation=local.tzname() or zone_name,
        other_weekday=local.date() != home_day,
    )


def render_in_zones(instant: datetime, home_zone: str, display_zones: tuple[str, ...]) -> list[ZoneTime]:
    """The instant in its home zone first, then in each display zone (home zone not repeated)."""
    home_local = instant.astimezone(ZoneInfo(home_zone))
    zones = [home_zone, *(z for z in display_zones if z != home_zone)]
    return [zone_time(instant, name, home_local.date()) for name in zones]


def format_home(instant: datetime, home_zone: str) -> str:
    """``Wed 2022-03-02 08:00 PST (America/Los_Angeles)``."""
    local = instant.astimezone(ZoneInfo(home_zone))
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} ({home_zone})"


def format_zone_line(instant: datetime, home_zone: str, display_zones: tuple[str, ...]) -> str:
    """The one-line rendering used in replies and announcements: the home time with its date, then
    the other zones, each with its weekday when that differs."""
    rendered = render_in_zones(instant, home_zone, display_zones)
    rest = " · ".join(zt.label() for zt in rendered[1:])
    head = format_home(instant, home_zone)
    return f"{head} · {rest}" if rest else head


def member_zone(zone_name: str | None) -> str:
    """A member's own zone (``/me tz``), or UTC when they set none or the zone database no longer has it."""
    if not zone_name:
        return "UTC"
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return zone_name


def format_for_member(instant: datetime, zone_name: str | None) -> str:
    """``Wed 2022-03-02 17:00 CET (Europe/Berlin)`` in the member's own zone, or ``... UTC``."""
    own = member_zone(zone_name)
    local = instant.astimezone(ZoneInfo(own))
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}" + ("" if own == "UTC" else f" ({own})")


def relative(instant: datetime, now: datetime) -> str:
    """``in 3 hours`` / ``2 days ago``: how far an instant is from now, in words."""
    delta = instant - now
    future = delta >= timedelta()
    seconds = abs(int(delta.total_seconds()))
    if seconds < 90:
        amount = "less than 2 minutes"
    elif seconds < 2 * 3600:
        amount = f"{seconds // 60} minutes"
    elif seconds < 2 * 86400:
        amount = f"{seconds // 3600} hours"
    else:
        amount = f"{seconds // 86400} days"
    return f"in {amount}" if future else f"{amount} ago"


def weekday_name(index: int) -> str:
    return WEEKDAY_NAMES[index]


# How far ahead a new series' wall time is checked against daylight-saving gaps: zones change their rules
# with little notice, so further than a few years is guesswork.
GAP_LOOKAHEAD_WEEKS = 5 * 53


def first_gap(rule: WeeklyRule, weeks: int = GAP_LOOKAHEAD_WEEKS) -> date | None:
    """The first meeting date of ``rule`` whose wall time does not exist (the clocks jump over it that
    night, e.g. 02:30 on a spring-forward Sunday), within ``weeks``; None when every one exists."""
    zone = ZoneInfo(rule.zone)
    for index, day in enumerate(rule.occurrence_dates(rule.start)):
        if index >= weeks:
            return None
        if is_nonexistent(datetime.combine(day, rule.local_time), zone):
            return day
    return None  # pragma: no cover - the date iterator never ends


def refuse_gap(rule: WeeklyRule) -> None:
    """A standing meeting at a wall time that some week does not exist would be moved silently (RFC 5545
    resolves it to the hour after): refuse it at creation, naming the date and what to choose instead."""
    day = first_gap(rule)
    if day is None:
        return
    local = datetime.combine(day, rule.local_time)
    zone = ZoneInfo(rule.zone)
    moved = to_instant(local, zone).astimezone(zone)
    raise InvalidInput(
        f"{rule.local_time:%H:%M} on {WEEKDAY_NAMES[rule.weekday]}s does not exist in {rule.zone} on "
        f"{day:%a %Y-%m-%d}: the clocks skip ahead for daylight saving that night, so that meeting would "
        f"silently move to {moved:%H:%M}. Choose a time outside the skipped hour, such as {moved:%H:%M} or "
        f"{local - timedelta(hours=1):%H:%M}."
    )
