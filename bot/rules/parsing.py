"""Parsing of the values people type: dates, times, durations, weekdays and zone names.

Every failure raises ``InvalidInput`` with one sentence saying what is wrong and how to fix it."""

from __future__ import annotations

import calendar
import difflib
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidInput
from bot.rules.zone_names import canonical_utc, refusal

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DURATION_PART = re.compile(r"(\d+)([dhm])")
_DURATION = re.compile(r"^(?:\d+[dhm])+$")
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}

# A zone name is at most a few path segments of letters, digits, '_', '-', '+'. Checking the shape
# first keeps names like "../../etc/passwd" away from the zone loader.
_ZONE_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}$")


def parse_date(text: str) -> date:
    match = _DATE.match(text.strip())
    if not match:
        raise InvalidInput(f"'{text}' is not a date: write it as YYYY-MM-DD, for example 2022-03-02.")
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        raise InvalidInput(f"'{text}' is not a date: the month must be 01 to 12 (YYYY-MM-DD).")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise InvalidInput(
            f"'{text}' is not a date: {calendar.month_name[month]} {year} has {last} days."
        )
    return date(year, month, day)


def parse_time(text: str) -> time:
    match = _TIME.match(text.strip())
    if not match:
        raise InvalidInput(f"'{text}' is not a time: write it as HH:MM on a 24-hour clock, for example 08:00.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise InvalidInput(f"'{text}' is not a time: hours run 00-23 and minutes 00-59 (e.g. 16:30).")
    return time(hour, minute)


def parse_local_datetime(text: str) -> datetime:
    """A wall-clock date and time such as ``2022-03-02T08:00`` (no zone: the zone is a separate option)."""
    cleaned = text.strip()
    sep = "T" if "T" in cleaned else " " if " " in cleaned else None
    if sep is None:
        raise InvalidInput(
            f"'{text}' is not a date and time: write it as YYYY-MM-DDTHH:MM, for example 2022-03-02T08:00."
        )
    day_part, _, time_part = cleaned.partition(sep)
    return datetime.combine(parse_date(day_part), parse_time(time_part))


MAX_DURATION = timedelta(days=366)


def parse_duration(text: str, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """``72h``, ``90m``, ``3d``, ``1h30m``; a bare number means minutes."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        cleaned += "m"
    if cleaned.startswith("-"):
        raise InvalidInput(f"'{text}' is negative: a duration must be positive, for example 72h.")
    if not _DURATION.match(cleaned):
        raise InvalidInput(
            f"'{text}' is not a duration: use a number with d, h or m, for example 72h, 90m or 3d."
        )
    total = timedelta()
    try:
        for amount, unit in _DURATION_PART.findall(cleaned):
            total += int(amount) * _UNIT[unit]
    except OverflowError:  # beyond what timedelta holds (about 2.7 million years): certainly too long
        total = maximum + timedelta(microseconds=1)
    if total <= timedelta():
        raise InvalidInput(f"'{text}' is zero: a duration must be positive, for example 72h.")
    if total > maximum:
        raise InvalidInput(
            f"'{text}' is too long: the longest allowed is {format_duration(maximum)}."
        )
    return total


def format_duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return "".join(parts) or "0m"


def parse_weekday(text: str) -> int:
    """Monday is 0, as in ``date.weekday()``."""
    key = text.strip().lower()[:3]
    if len(text.strip()) >= 3 and key in WEEKDAYS and WEEKDAY_NAMES[WEEKDAYS.index(key)].lower().startswith(
        text.strip().lower()
    ):
        return WEEKDAYS.index(key)
    raise InvalidInput(f"'{text}' is not a weekday: use mon, tue, wed, thu, fri, sat or sun.")


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def parse_zone(text: str) -> ZoneInfo:
    """The one reader of a typed zone (``/me tz``, a series' ``tz=`` and ``zones=``, a one-off's ``tz=``, the
    calendar's ``?tz=``, the config's display zones). Only IANA names of places, and UTC: abbreviations,
    legacy names and fixed offsets are refused with the zones they usually mean (``bot.rules.zone_names``)."""
    name = text.strip()
    utc = canonical_utc(name)
    if utc is not None:
        return ZoneInfo(utc)
    why = refusal(name)
    if why is not None:
        raise InvalidInput(why)
    if _ZONE_SHAPE.match(name) and name not in known_zones():
        # europe/berlin: the zone its letters name, when exactly one does.
        same = [zone for zone in _places() if zone.casefold() == name.casefold()]
        name = same[0] if len(same) == 1 else name
    if not _ZONE_SHAPE.match(name) or name not in known_zones():
        close = difflib.get_close_matches(name, _places(), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise InvalidInput(
            f"'{text}' is not a time zone I know: use an IANA name such as Europe/Berlin or "
            f"America/Los_Angeles.{hint}"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - guarded by known_zones
        raise InvalidInput(f"'{text}' is not a time zone I know: use an IANA name such as Europe/Berlin.") from exc


@cache
def _places() -> list[str]:
    """The zones worth suggesting: places (Area/City) and UTC, never a legacy name or an offset."""
    return sorted(z for z in known_zones() if refusal(z) is None and "/" in z and not z.startswith("Etc/"))


def parse_zone_list(text: str) -> tuple[str, ...]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise InvalidInput("zones= needs at least one zone, for example zones=UTC,Europe/London.")
    seen: list[str] = []
    for name in names:
        key = parse_zone(name).key
        if key not in seen:
            seen.append(key)
    return tuple(seen)
