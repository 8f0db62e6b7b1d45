"""Time rules: recurrence in the home zone, deadlines as elapsed time, rendering in display zones."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.rules.parsing import known_zones
from bot.rules.time import (
    WeeklyRule,
    agenda_deadline,
    format_zone_line,
    is_ambiguous,
    is_nonexistent,
    render_in_zones,
    strict_instant,
    to_instant,
)

SEED_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Shanghai")
ZONES = sorted(z for z in known_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))

zones = st.sampled_from(ZONES)
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2037, 12, 31))
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


def test_seed_example_in_five_zones() -> None:
    """The seed's Wednesdays 08:00 Los Angeles shown in UTC, London, Berlin, India and China: on 2022-03-16
    the US has changed clocks and Europe has not; by 2022-03-30 both have."""
    rule = WeeklyRule(weekday=2, local_time=time(8, 0), zone="America/Los_Angeles", start=date(2022, 3, 2))
    got = {day: render_in_zones(instant, rule.zone, SEED_ZONES)
           for day, instant in rule.occurrences(datetime(2022, 3, 1, tzinfo=UTC), 5)}
    labels = {day: [zt.label() for zt in rendered] for day, rendered in got.items()}
    assert labels[date(2022, 3, 2)] == [
        "08:00 PST (America/Los_Angeles)", "16:00 UTC", "16:00 GMT (Europe/London)", "17:00 CET (Europe/Berlin)",
        "21:30 IST (Asia/Kolkata)", "Thu 00:00 CST (Asia/Shanghai)",
    ]
    assert labels[date(2022, 3, 16)] == [
        "08:00 PDT (America/Los_Angeles)", "15:00 UTC", "15:00 GMT (Europe/London)", "16:00 CET (Europe/Berlin)",
        "20:30 IST (Asia/Kolkata)", "23:00 CST (Asia/Shanghai)",
    ]
    assert labels[date(2022, 3, 30)] == [
        "08:00 PDT (America/Los_Angeles)", "15:00 UTC", "16:00 BST (Europe/London)", "17:00 CEST (Europe/Berlin)",
        "20:30 IST (Asia/Kolkata)", "23:00 CST (Asia/Shanghai)",
    ]


def test_zone_line_starts_with_home_date() -> None:
    instant = datetime(2022, 3, 2, 16, 0, tzinfo=UTC)
    line = format_zone_line(instant, "America/Los_Angeles", SEED_ZONES)
    assert line.startswith("Wed 2022-03-02 08:00 PST (America/Los_Angeles) · 16:00 UTC")
    assert line.endswith("Thu 00:00 CST (Asia/Shanghai)")


@settings(max_examples=300, deadline=None)
@given(zone=zones, day=days, local=times, hours=st.integers(1, 24 * 14))
def test_deadline_is_exact_elapsed_time(zone: str, day: date, local: time, hours: int) -> None:
    start = to_instant(datetime.combine(day, local), ZoneInfo(zone))
    deadline = agenda_deadline(start, timedelta(hours=hours))
    assert start.timestamp() - deadline.timestamp() == hours * 3600


@settings(max_examples=200, deadline=None)
@given(zone=zones, first=days, local=times, weekday=st.integers(0, 6))
def test_series_wall_time_never_moves(zone: str, first: date, local: time, weekday: int) -> None:
    rule = WeeklyRule(weekday, local, zone, first)
    start = datetime.combine(first, time(0), ZoneInfo(zone)).astimezone(UTC)
    found = rule.occurrences(start - timedelta(days=1), 60)
    assert len(found) == 60
    for (day, _), (next_day, _) in itertools.pairwise(found):
        assert next_day - day == timedelta(days=7)
    for day, instant in found:
        assert day.weekday() == weekday and day >= first
        wall = instant.astimezone(ZoneInfo(zone))
        if not is_nonexistent(datetime.combine(day, local), ZoneInfo(zone)):
            # The meeting happens at the series' wall time on its own date, whatever the offset that day.
            assert (wall.date(), wall.time()) == (day, local)
        else:
            # A wall time the clocks skip is read as RFC 5545 does: shifted forward by the gap.
            assert wall.date() == day and wall.time() > local


def test_occurrences_are_strictly_after() -> None:
    rule = WeeklyRule(2, time(8), "America/Los_Angeles", date(2022, 3, 2))
    first = rule.occurrences(datetime(2022, 3, 2, 16, 0, tzinfo=UTC), 1)
    assert first[0][0] == date(2022, 3, 9)


def test_gap_and_overlap_detection() -> None:
    new_york = ZoneInfo("America/New_York")
    assert is_nonexistent(datetime(2022, 3, 13, 2, 30), new_york)
    assert not is_nonexistent(datetime(2022, 3, 13, 3, 30), new_york)
    assert is_ambiguous(datetime(2022, 11, 6, 1, 30), new_york)
    assert not is_ambiguous(datetime(2022, 11, 6, 2, 30), new_york)
    # In an overlap the first occurrence (daylight time) is meant, as calendar clients read it.
    assert to_instant(datetime(2022, 11, 6, 1, 30), new_york) == datetime(2022, 11, 6, 5, 30, tzinfo=UTC)


def test_strict_instant_refuses_a_gap_with_a_suggestion() -> None:
    with pytest.raises(InvalidInput, match=r"does not exist in America/New_York.*such as 03:30"):
        strict_instant(datetime(2022, 3, 13, 2, 30), ZoneInfo("America/New_York"))


def test_weekday_shown_only_when_it_differs() -> None:
    instant = datetime(2022, 6, 1, 23, 30, tzinfo=UTC)
    rendered = {zt.zone: zt for zt in render_in_zones(instant, "UTC", ("Asia/Tokyo", "Europe/London"))}
    assert rendered["Asia/Tokyo"].label() == "Thu 08:30 JST (Asia/Tokyo)"
    assert rendered["Europe/London"].label() == "Thu 00:30 BST (Europe/London)"
    assert rendered["UTC"].label() == "23:30 UTC"


def test_southern_hemisphere_and_half_hour_zones() -> None:
    rule = WeeklyRule(0, time(9, 0), "Australia/Sydney", date(2022, 3, 28))
    (day1, april), = rule.occurrences(datetime(2022, 3, 30, tzinfo=UTC), 1)
    assert day1 == date(2022, 4, 4)
    assert april.astimezone(ZoneInfo("Australia/Sydney")).tzname() == "AEST"
    labels = [zt.label() for zt in render_in_zones(april, "Australia/Sydney", ("UTC", "Asia/Kathmandu"))]
    assert labels == ["09:00 AEST (Australia/Sydney)", "Sun 23:00 UTC", "04:45 +0545 (Asia/Kathmandu)"]
