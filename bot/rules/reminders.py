"""Reminder rules: personal offsets, retry backoff, and which overdue reminders are still worth sending.
Pure functions; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from bot.errors import InvalidInput
from bot.rules.parsing import format_duration, parse_duration

MAX_OFFSET = timedelta(days=7)
MAX_OFFSETS = 4
OFF = "off"

# Retries: 30 s, 1 min, 2 min, ... capped at 30 min, unless the platform says how long to wait.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)


def parse_offsets(text: str) -> tuple[timedelta, ...] | None:
    """``24h,1h`` -> (24 h, 1 h), longest first; ``off`` -> None (no personal reminders at all)."""
    cleaned = text.strip().lower()
    if cleaned in (OFF, "none", "no"):
        return None
    parts = [p.strip() for p in cleaned.split(",") if p.strip()]
    if not parts:
        raise InvalidInput("Give reminder offsets such as 24h,1h, or off to stop personal reminders.")
    offsets: set[timedelta] = set()
    for part in parts:
        try:
            offsets.add(parse_duration(part, maximum=MAX_OFFSET))
        except InvalidInput as exc:
            raise InvalidInput(f"{exc.message} Reminder offsets look like 24h,1h (at most 7d each).") from exc
    if len(offsets) > MAX_OFFSETS:
        raise InvalidInput(f"At most {MAX_OFFSETS} reminder offsets, for example 24h,1h.")
    return tuple(sorted(offsets, reverse=True))


def format_offsets(offsets: Sequence[timedelta] | None) -> str:
    if offsets is None:
        return OFF
    return ",".join(format_duration(o) for o in offsets)


def member_offsets(stored: str | None, defaults: tuple[timedelta, ...]) -> tuple[timedelta, ...] | None:
    """A member's offsets from their stored setting: None = the defaults, "off" = none (returns None)."""
    if stored is None or not stored.strip():
        return defaults
    try:
        return parse_offsets(stored)
    except InvalidInput:
        return defaults  # a setting written by an older version: fall back rather than go silent


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait before attempt ``attempts + 1``: what the platform asked for, else exponential."""
    if retry_after is not None and retry_after > 0:
        return timedelta(seconds=min(retry_after, BACKOFF_CAP.total_seconds() * 4))
    doublings = min(max(0, attempts - 1), 16)  # past the cap anyway; keeps timedelta from overflowing
    backoff: timedelta = BACKOFF_BASE * (2**doublings)
    return min(backoff, BACKOFF_CAP)


T = TypeVar("T")


def superseded_overdue(due: Iterable[tuple[T, datetime]], now: datetime) -> set[T]:
    """Of several reminders for the same thing that are all already overdue (the bot was down, or a
    host was assigned late), only the latest is worth sending: return the others."""
    overdue = sorted(((when, item) for item, when in due if when <= now), key=lambda p: p[0])
    return {item for _when, item in overdue[:-1]}
