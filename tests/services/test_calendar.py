"""Calendar feeds of real series on both databases, read back by ical.js, vobject and
recurring-ical-events, compared with our own computation and with golden files."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.rules.time import WeeklyRule
from bot.services import Services
from bot.services.calendar import REVALIDATE_AFTER, PrivateFeed
from tests.calendar_parsers import ical_js, recurring_events, vobject_events
from tests.helpers import SEED_SERIES, SEED_ZONES, Members, ok, run

GOLDEN = Path(__file__).parent.parent / "golden" / "calendar"
YEAR_START = datetime(2022, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2023, 1, 1, tzinfo=UTC)


def golden(name: str, body: bytes) -> None:
    """Compare with tests/golden/calendar/<name>; UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(body)
    assert body == path.read_bytes(), f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)"


def unfolded(body: bytes) -> str:
    return body.decode().replace("\r\n ", "")


def in_2022(events: list) -> list:
    return [e for e in events if YEAR_START <= e.start < YEAR_END]


async def seed(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"),
             '/agenda add "Unify meetings, part 1; <b>really</b>" https://discuss.tvm.apache.org/t/12171')
    await ok(dispatcher, members.chair(), "/meeting cancel 2022-03-16")


async def test_seed_series_across_2022_every_parser_agrees(services: Services, dispatcher: Dispatcher,
                                                           members: Members) -> None:
    await seed(dispatcher, members)
    rule = WeeklyRule(2, datetime(2022, 1, 1, 8, 0).time(), "America/Los_Angeles", date(2022, 3, 2))
    ours = [instant for _, instant in rule.between(YEAR_START, YEAR_END)]
    assert len(ours) == 44 and ours[0] == datetime(2022, 3, 2, 16, tzinfo=UTC)
    assert datetime(2022, 3, 16, 15, tzinfo=UTC) in ours  # after the US change, before Europe's
    for zone in [None, *SEED_ZONES.split(",")]:
        feed = await services.calendar.feed("community", zone)
        for name, read in (("ical.js", ical_js(feed.body)), ("vobject", vobject_events(feed.body)),
                           ("recurring-ical-events", recurring_events(feed.body, YEAR_START, YEAR_END))):
            events = in_2022(read)
            assert [e.start for e in events] == ours, (name, zone)
            assert all(e.end - e.start == timedelta(hours=1) for e in events), (name, zone)
            cancelled = [e.start for e in events if e.status == "CANCELLED"]
            assert cancelled == [datetime(2022, 3, 16, 15, tzinfo=UTC)], (name, zone)
            assert all(e.uid.startswith("community-2022-") for e in events)
        if zone not in (None, "UTC"):
            assert f"DTSTART;TZID={zone}:".encode() in feed.body
            assert feed.body.count(b"BEGIN:VTIMEZONE") == 1
    home = (await services.calendar.feed("community")).body.decode().replace("\r\n ", "")
    # The description: every display zone with its abbreviation, the weekday where it differs, agenda, status.
    assert "Wed 2022-03-02 08:00 PST (America/Los_Angeles)\\n16:00 UTC\\n16:00 GMT (Europe/London)" in home
    assert "\\nThu 00:00 CST (Asia/Shanghai)" in home and "21:30 IST (Asia/Kolkata)" in home
    assert "Unify meetings\\, part 1\\; <b>really</b> https://discuss.tvm.apache.org/t/12171" in home
    assert "Status: cancelled" in home and "URL:http://localhost:8080/calendar/community" in home


async def test_golden_feeds_and_stable_bytes(services: Services, dispatcher: Dispatcher, members: Members) -> None:
    await seed(dispatcher, members)
    home = await services.calendar.feed("community")
    kolkata = await services.calendar.feed("community", "Asia/Kolkata")
    golden("community.ics", home.body)
    golden("community-kolkata.ics", kolkata.body)
    # A second service (another process) renders the same bytes, so ETags match across replicas.
    other = build_services(services.db, services.clock, services.settings)
    again = await other.calendar.feed("community")
    assert again.body == home.body and again.etag == home.etag


async def test_cache_is_invalidated_by_changes_here_and_in_other_replicas(
        services: Services, dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await seed(dispatcher, members)
    first = await services.calendar.feed("community")
    assert await services.calendar.feed("community") is first  # served from the cache
    clock.advance(timedelta(seconds=1))
    await ok(dispatcher, members.member("dan"), '/agenda add "Release plan" https://github.com/apache/tvm/issues/1')
    second = await services.calendar.feed("community")
    assert second.etag != first.etag and "Release plan" in unfolded(second.body)
    assert second.last_modified == clock.now().replace(microsecond=0)
    # A change made by another replica: seen once the entry is older than REVALIDATE_AFTER.
    replica = build_services(services.db, clock, services.settings)
    clock.advance(timedelta(seconds=1))
    await replica.meetings.set_status(members.chair(), "community", date(2022, 3, 23), "cancelled")
    assert (await services.calendar.feed("community")).etag == second.etag
    clock.advance(REVALIDATE_AFTER)
    third = await services.calendar.feed("community")
    assert third.etag != second.etag and third.body.count(b"STATUS:CANCELLED") == 2


async def test_southern_hemisphere_and_half_hour_zones(services: Services, dispatcher: Dispatcher,
                                                       members: Members) -> None:
    await ok(dispatcher, members.chair(),
             '/meeting series create slug=apac name="APAC sync" weekday=mon time=09:00 tz=Australia/Sydney '
             'zones=UTC,Asia/Kolkata,Australia/Lord_Howe,Asia/Kathmandu start=2022-01-03')
    rule = WeeklyRule(0, datetime(2022, 1, 1, 9, 0).time(), "Australia/Sydney", date(2022, 1, 3))
    ours = [instant for _, instant in rule.between(YEAR_START, YEAR_END)]
    # AEDT (+11) in January, AEST (+10) in winter.
    assert ours[0] == datetime(2022, 1, 2, 22, tzinfo=UTC) and datetime(2022, 6, 5, 23, tzinfo=UTC) in ours
    services.clock.set(datetime(2022, 2, 20, tzinfo=UTC))  # type: ignore[attr-defined]
    for zone in [None, "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns"]:
        feed = await services.calendar.feed("apac", zone)
        for read in (ical_js(feed.body), vobject_events(feed.body)):
            assert [e.start for e in in_2022(read)] == ours, zone
    body = (await services.calendar.feed("apac", "Australia/Lord_Howe")).body
    assert b"TZOFFSETTO:+1030" in body and b"TZOFFSETTO:+1100" in body
    assert "\\n03:45 +0545 (Asia/Kathmandu)" in unfolded((await services.calendar.feed("apac")).body)


async def test_one_off_meetings_in_the_overlap_and_the_gap(services: Services, dispatcher: Dispatcher,
                                                           members: Members) -> None:
    await seed(dispatcher, members)
    chair = members.chair()
    # 01:30 happens twice in Los Angeles on 2022-11-06: as typed there it is the first (PDT, 08:30 UTC);
    # typed as Berlin time 10:30 it is the second (PST, 09:30 UTC).
    await ok(dispatcher, chair, '/meeting add 2022-11-06T01:30 tz=America/Los_Angeles name="First 01:30"')
    await ok(dispatcher, chair, '/meeting add 2022-11-06T10:30 tz=Europe/Berlin name="Second 01:30"')
    gap = await run(dispatcher, chair, "/meeting add 2022-03-13T02:30 tz=America/Los_Angeles")
    assert not gap.ok and "does not exist in America/Los_Angeles" in gap.text
    expected = {"First 01:30": datetime(2022, 11, 6, 8, 30, tzinfo=UTC),
                "Second 01:30": datetime(2022, 11, 6, 9, 30, tzinfo=UTC)}
    for zone in [None, "UTC", "Europe/Berlin", "Asia/Kolkata"]:
        feed = await services.calendar.feed("community", zone)
        for read in (ical_js(feed.body), vobject_events(feed.body),
                     recurring_events(feed.body, YEAR_START, YEAR_END)):
            got = {e.summary: e.start for e in read if e.uid.startswith("community-extra-")}
            assert got == expected, zone
    assert b"UID:community-extra-2022-11-06T08-30Z@localhost" in feed.body


async def test_errors_and_private_feeds(services: Services, dispatcher: Dispatcher, members: Members) -> None:
    await seed(dispatcher, members)
    with pytest.raises(NotFound):
        await services.calendar.feed("nope")
    with pytest.raises(InvalidInput):
        await services.calendar.feed("community", "Mars/Olympus")
    denied = await run(dispatcher, members.member("bob"), "/calendar private on")
    assert not denied.ok and "chair" in denied.text
    reply = await ok(dispatcher, members.chair(), "/calendar private on")
    assert reply.ephemeral and reply.data["private"]
    token = (await services.meetings.resolve_series("tvm", "community")).feed_token
    assert token and token in reply.data["links"][0]["https"]
    with pytest.raises(PrivateFeed):
        await services.calendar.feed("community")
    with pytest.raises(PrivateFeed):
        await services.calendar.feed("community", None, "wrong")
    assert (await services.calendar.feed("community", None, token)).body.startswith(b"BEGIN:VCALENDAR")
    links = await ok(dispatcher, members.member("bob"), "/calendar community")
    assert links.ephemeral and token in links.text
    await ok(dispatcher, members.chair(), "/calendar rotate")
    with pytest.raises(PrivateFeed):
        await services.calendar.feed("community", None, token)
    with pytest.raises(PermissionDenied):
        await services.calendar.rotate(members.member("bob"), None)
    await ok(dispatcher, members.chair(), "/calendar private off")
    public = await ok(dispatcher, members.member("bob"), "/calendar")
    assert not public.ephemeral and "token" not in public.text
    assert public.data["links"][1] == {
        "zone": "UTC", "home": False, "https": "http://localhost:8080/calendar/community.ics?tz=UTC",
        "webcal": "webcal://localhost:8080/calendar/community.ics?tz=UTC"}
    assert len(public.data["links"]) == 6
