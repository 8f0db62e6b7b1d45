"""VTIMEZONE components written from the zone database, the way calendar servers publish them:
one observance per run of yearly transitions that follow a weekday rule (``RRULE:FREQ=YEARLY;
BYMONTH=3;BYDAY=2SU``), a plain single-``DTSTART`` observance for a transition that follows no such rule,
and one fixed observance for a zone without transitions in the years covered.

We do not use icalendar's generated VTIMEZONE: icalendar 7.3 writes RDATE lists that ical.js (the parser
behind Mozilla's calendar) reads wrongly, and its daylight onset is an hour late. Every offset here comes
from ``zoneinfo`` for the instant in question, so half-hour zones, zones without DST and southern
hemisphere zones need no special case."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    at: datetime  # UTC instant of the change
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool

    @property
    def local_start(self) -> datetime:
        """The wall time of the change on the clock before it (what an observance's DTSTART holds)."""
        return (self.at + self.offset_from).replace(tzinfo=None)

    def shape(self) -> tuple[bool, timedelta, timedelta, str, int, int, int, int]:
        local = self.local_start
        return (self.daylight, self.offset_from, self.offset_to, self.name, local.month, local.weekday(),
                local.hour * 3600 + local.minute * 60 + local.second, 0)


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta, timedelta, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(), local.dst() or timedelta(), local.tzname() or ""


def transitions(zone_name: str, first_year: int, last_year: int) -> tuple[tuple[timedelta, str, bool],
                                                                            list[Transition]]:
    """The state at the start of ``first_year`` (offset, name, daylight) and every change of offset,
    abbreviation or daylight flag until the end of ``last_year``, found by scanning week by week and
    bisecting to the second."""
    zone = ZoneInfo(zone_name)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    # Every zone's changes are months (at the very least weeks) apart, so a weekly scan sees each one;
    # bisection then finds its second.
    step = timedelta(days=7)
    found: list[Transition] = []
    offset, dst, name = _state(zone, start)
    initial = (offset, name, dst != timedelta())
    here = start
    state = (offset, dst, name)
    while here < end:
        ahead = here + step
        later = _state(zone, ahead)
        if later != state:
            low, high = here, ahead  # state(low) == state, state(high) != state
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            after = _state(zone, high)
            found.append(Transition(high, state[0], after[0], after[2], after[1] != timedelta()))
            state = after
            here = high
            continue
        here = ahead
    return initial, found


def _weekday_rule(local: datetime) -> set[str]:
    """The BYDAY forms that describe this date: ``2SU`` (second Sunday) and, in the month's last week,
    ``-1SU`` (last Sunday)."""
    code = _DAY_CODES[local.weekday()]
    forms = {f"{(local.day - 1) // 7 + 1}{code}"}
    if local.day + 7 > calendar.monthrange(local.year, local.month)[1]:
        forms.add(f"-1{code}")
    return forms


def _offset(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _observance(first: Transition, rrule: str | None) -> list[str]:
    kind = "DAYLIGHT" if first.daylight else "STANDARD"
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{first.local_start:%Y%m%dT%H%M%S}",
        f"TZOFFSETFROM:{_offset(first.offset_from)}",
        f"TZOFFSETTO:{_offset(first.offset_to)}",
        f"TZNAME:{first.name}",
    ]
    if rrule:
        lines.append(rrule)
    lines.append(f"END:{kind}")
    return lines


@lru_cache(maxsize=1024)
def vtimezone_lines(zone_name: str, first_year: int, last_year: int) -> tuple[str, ...]:
    """The unfolded lines of a VTIMEZONE correct for every instant from ``first_year`` to
    ``last_year``; its last yearly rules continue beyond (as the zone database's current rule does)."""
    initial, changes = transitions(zone_name, first_year, last_year)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone_name}"]
    if not changes:
        offset, name, daylight = initial
        fixed = Transition(datetime(1970, 1, 1, tzinfo=UTC) - offset, offset, offset, name, daylight)
        lines.extend(_observance(fixed, None))
        lines.append("END:VTIMEZONE")
        return tuple(lines)

    # Runs: transitions of one shape (kind, offsets, name, month, weekday, wall time) in consecutive
    # years that share one BYDAY form. Each run becomes one observance.
    runs: list[tuple[list[Transition], set[str]]] = []
    open_runs: dict[tuple[object, ...], int] = {}
    for change in changes:
        shape = change.shape()
        forms = _weekday_rule(change.local_start)
        index = open_runs.get(shape)
        if index is not None:
            members, common = runs[index]
            last = members[-1].local_start
            if change.local_start.year == last.year + 1 and common & forms:
                members.append(change)
                runs[index] = (members, common & forms)
                continue
        open_runs[shape] = len(runs)
        runs.append(([change], forms))

    body: list[tuple[datetime, list[str]]] = []
    for members, forms in runs:
        first = members[0]
        if len(members) == 1 and first.at.year < last_year:
            body.append((first.at, _observance(first, None)))
            continue
        # Prefer "last Sunday" over "fourth Sunday" when both describe every year of the run: it is how
        # the rules are written (EU: last Sunday of March) and keeps holding in later years.
        byday = sorted(forms, key=lambda f: (not f.startswith("-1"), f))[0]
        rule = f"RRULE:FREQ=YEARLY;BYMONTH={first.local_start.month};BYDAY={byday}"
        if members[-1].at.year < last_year:
            rule += f";UNTIL={members[-1].at:%Y%m%dT%H%M%SZ}"
        body.append((first.at, _observance(first, rule)))
    for _, observance in sorted(body, key=lambda b: b[0]):
        lines.extend(observance)
    lines.append("END:VTIMEZONE")
    return tuple(lines)
