"""The feed serializer and our VTIMEZONEs, read back by independent parsers (ical.js and vobject):
every instant they read must be the instant we meant, in zones with and without daylight saving,
half-hour zones and the southern hemisphere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.ical import CalendarEvent, escape_text, feed_links, fold, render_feed
from bot.rules.vtimezone import vtimezone_lines
from tests.calendar_parsers import ical_js, vobject_events

ZONES = [
    "America/Los_Angeles", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "UTC", "Asia/Shanghai", "Europe/Dublin",
]


def sweep(zone: str, hours: int = 7) -> list[CalendarEvent]:
    """An event every ``hours`` hours across 2022 and 2023: it lands on every wall time of the day and on
    both sides of every change, including the hours next to each transition."""
    start = datetime(2022, 1, 1, 0, 17, tzinfo=UTC)
    events = []
    instant = start
    n = 0
    while instant < datetime(2024, 1, 1, tzinfo=UTC):
        events.append(CalendarEvent(f"e{n}@test", instant, instant + timedelta(minutes=45), "Sweep", "", False,
                                    "https://example.org/"))
        instant += timedelta(hours=hours)
        n += 1
    return events


@pytest.mark.parametrize("zone", ZONES)
def test_every_parser_reads_every_instant_as_written(zone: str) -> None:
    events = sweep(zone)
    body = render_feed(name="Sweep", zone_name=zone, events=events, dtstamp=datetime(2022, 1, 1, tzinfo=UTC))
    expected = [(e.uid, e.starts_at, e.ends_at) for e in events]
    assert [(e.uid, e.start, e.end) for e in ical_js(body)] == expected
    assert [(e.uid, e.start, e.end) for e in vobject_events(body)] == expected
    if zone != "UTC":
        assert f"DTSTART;TZID={zone}:".encode() in body  # times really are written in the zone


def test_a_wrong_vtimezone_is_caught_by_the_parsers() -> None:
    """The check is not vacuous: the parsers read times through the feed's VTIMEZONE, not a database of
    their own, so a VTIMEZONE with the wrong rule gives different instants."""
    events = sweep("America/Los_Angeles", hours=24)
    body = render_feed(name="x", zone_name="America/Los_Angeles", events=events,
                       dtstamp=datetime(2022, 1, 1, tzinfo=UTC))
    broken = body.replace(b"BYMONTH=3;BYDAY=2SU", b"BYMONTH=3;BYDAY=-1SU")
    assert broken != body
    expected = [e.starts_at for e in events]
    assert [e.start for e in ical_js(broken)] != expected
    assert [e.start for e in vobject_events(broken)] != expected


def test_vtimezone_uses_yearly_rules_like_calendar_servers() -> None:
    lines = vtimezone_lines("America/Los_Angeles", 2021, 2023)
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU" in lines
    assert "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU" in lines
    assert not any(line.startswith("RDATE") for line in lines)
    sydney = vtimezone_lines("Australia/Sydney", 2021, 2023)
    assert "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU" in sydney and "TZOFFSETTO:+1100" in sydney
    berlin = vtimezone_lines("Europe/Berlin", 2021, 2023)
    assert "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU" in berlin and "TZNAME:CEST" in berlin
    kolkata = vtimezone_lines("Asia/Kolkata", 2021, 2023)
    assert "TZOFFSETTO:+0530" in kolkata and not any(line.startswith("RRULE") for line in kolkata)


def test_ambiguous_wall_times_are_written_in_utc() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    first = datetime(2022, 11, 6, 1, 30, tzinfo=zone, fold=0)
    second = datetime(2022, 11, 6, 1, 30, tzinfo=zone, fold=1)
    events = [CalendarEvent("a@t", first, first + timedelta(hours=2), "A", "", False, "https://x/"),
              CalendarEvent("b@t", second, second + timedelta(hours=1), "B", "", False, "https://x/")]
    body = render_feed(name="x", zone_name="America/Los_Angeles", events=events, dtstamp=first)
    assert b"DTSTART:20221106T083000Z" in body and b"DTSTART:20221106T093000Z" in body
    assert b"DTEND;TZID=America/Los_Angeles:20221106T023000" in body
    for reader in (ical_js, vobject_events):
        assert [(e.start, e.end) for e in reader(body)] == [(e.starts_at.astimezone(UTC), e.ends_at.astimezone(UTC))
                                                          for e in events]


def test_text_is_escaped_and_lines_are_folded_on_character_boundaries() -> None:
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    line = "DESCRIPTION:" + "Zürich 会议 " * 20
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line


def test_links_per_zone() -> None:
    links = feed_links("https://q.example.org/", "community", "America/Los_Angeles",
                       ("UTC", "America/Los_Angeles", "Asia/Kolkata"), token="t0k")
    assert [link.zone for link in links] == ["America/Los_Angeles", "UTC", "Asia/Kolkata"]
    assert links[0].https == "https://q.example.org/calendar/community.ics?token=t0k"
    assert links[2].webcal == "webcal://q.example.org/calendar/community.ics?tz=Asia/Kolkata&token=t0k"
