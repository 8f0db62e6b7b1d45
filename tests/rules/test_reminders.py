from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.rules.reminders import BACKOFF_CAP, backoff, format_offsets, member_offsets, parse_offsets, superseded_overdue

H = timedelta(hours=1)


def test_parse_offsets() -> None:
    assert parse_offsets("24h,1h") == (24 * H, H)
    assert parse_offsets(" 1h , 24h ,1h") == (24 * H, H)
    assert parse_offsets("90") == (timedelta(minutes=90),)
    assert parse_offsets("off") is None
    for bad in ("", ",", "soon", "-1h", "8d", "1h,2h,3h,4h,5h"):
        with pytest.raises(InvalidInput):
            parse_offsets(bad)


def test_member_offsets_defaults_and_off() -> None:
    defaults = (24 * H, H)
    assert member_offsets(None, defaults) == defaults
    assert member_offsets("off", defaults) is None
    assert member_offsets("2h", defaults) == (2 * H,)
    assert format_offsets((24 * H, H)) == "1d,1h" and format_offsets(None) == "off"


@given(st.integers(min_value=1, max_value=50))
def test_backoff_grows_and_is_capped(attempts: int) -> None:
    assert timedelta() < backoff(attempts) <= BACKOFF_CAP
    assert backoff(attempts + 1) >= backoff(attempts)


def test_backoff_honours_retry_after() -> None:
    assert backoff(1, retry_after=7.5) == timedelta(seconds=7.5)
    assert backoff(1) == timedelta(seconds=30) and backoff(2) == timedelta(minutes=1)


@given(st.lists(st.integers(min_value=-1000, max_value=1000), min_size=1, max_size=6, unique=True))
def test_only_the_latest_overdue_reminder_survives(minutes: list[int]) -> None:
    now = datetime(2022, 3, 1, tzinfo=UTC)
    due = [(m, now + timedelta(minutes=m)) for m in minutes]
    stale = superseded_overdue(due, now)
    overdue = [m for m in minutes if m <= 0]
    assert stale == set(sorted(overdue)[:-1])
