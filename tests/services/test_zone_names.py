"""Zones mean what people mean (issue 16, item 5): abbreviations, legacy names and fixed offsets are refused
wherever a zone is typed, with the IANA zone people mean, and nothing changes; a standing meeting at a wall
time that a daylight-saving night skips is refused at creation."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.commands.dispatcher import Dispatcher
from bot.errors import InvalidInput
from bot.rules.parsing import parse_zone
from bot.services import Services
from bot.web.routes import build_web_app
from tests.helpers import SEED_SERIES, Members, ok, run


@pytest.mark.parametrize(("typed", "meant"), [
    ("EST", "America/New_York"), ("edt", "America/New_York"), ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"), ("IST", "Asia/Kolkata"), ("CEST", "Europe/Berlin"), ("CET", "Europe/Berlin"),
    ("MST", "America/Denver"), ("HST", "Pacific/Honolulu"), ("EST5EDT", "America/New_York"),
    ("CST6CDT", "America/Chicago"), ("GMT", "Europe/London"), ("Etc/GMT+5", "America/New_York"),
    ("GMT-8", "America/Los_Angeles"), ("UTC+05:30", "Asia/Kolkata"), ("Etc/GMT-1", "Europe/Berlin"),
])
def test_abbreviations_and_offsets_are_refused_with_the_zone_meant(typed: str, meant: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_zone(typed)
    assert meant in refused.value.message
    assert "MST" not in refused.value.message or typed.upper().startswith("M")  # PST no longer suggests MST


def test_fixed_offsets_say_which_way_etc_names_point() -> None:
    with pytest.raises(InvalidInput, match=r"UTC-5\)"):
        parse_zone("Etc/GMT+5")


@pytest.mark.parametrize("typed", ["UTC", "utc", "Etc/UTC", "Zulu"])
def test_utc_stays_utc(typed: str) -> None:
    assert parse_zone(typed).key == "UTC"


def test_a_place_typed_in_the_wrong_case_is_the_place() -> None:
    assert parse_zone("europe/berlin").key == "Europe/Berlin"


async def test_me_tz_refuses_an_abbreviation_and_keeps_the_old_zone(dispatcher: Dispatcher, services: Services,
                                                                     members: Members) -> None:
    bob = members.member("bob")
    await ok(dispatcher, bob, "/me tz Europe/Berlin")
    refused = await run(dispatcher, bob, "/me tz EST")
    assert not refused.ok and "America/New_York" in refused.text and "abbreviation" in refused.text
    pst = await run(dispatcher, bob, "/me tz PST")
    assert not pst.ok and "America/Los_Angeles" in pst.text and "MST" not in pst.text
    stored = await services.members.get("tvm", "console:bob")
    assert stored is not None and stored.timezone == "Europe/Berlin"


async def test_series_and_one_off_zones_are_checked_the_same_way(dispatcher: Dispatcher, services: Services,
                                                                 members: Members) -> None:
    alice = members.chair("alice")
    cest = await run(dispatcher, alice, SEED_SERIES.replace("tz=America/Los_Angeles", "tz=CEST"))
    assert not cest.ok and "Europe/Berlin" in cest.text
    zones = await run(dispatcher, alice, SEED_SERIES.replace("zones=UTC,", "zones=IST,"))
    assert not zones.ok and "Asia/Kolkata" in zones.text
    assert await services.meetings.list_series("tvm") == []
    await ok(dispatcher, alice, SEED_SERIES.replace("zones=UTC,", "zones=Etc/UTC,"))
    one_off = await run(dispatcher, alice, "/meeting add 2022-03-10T09:00 tz=IST")
    assert not one_off.ok and "Asia/Kolkata" in one_off.text
    await ok(dispatcher, alice, "/meeting add 2022-03-10T09:00 tz=Asia/Kolkata")


async def test_a_series_time_the_clocks_skip_is_refused_at_creation(dispatcher: Dispatcher, services: Services,
                                                                     members: Members) -> None:
    refused = await run(dispatcher, members.chair("alice"),
                        '/meeting series create slug=night name="Night owls" weekday=sun time=02:30 '
                        "tz=America/New_York start=2022-03-01")
    assert not refused.ok
    assert "02:30 on Sundays does not exist in America/New_York on Sun 2022-03-13" in refused.text
    assert "03:30" in refused.text
    assert await services.meetings.list_series("tvm") == []
    # Another weekday at the same time never falls in the gap.
    await ok(dispatcher, members.chair("alice"),
             '/meeting series create slug=night name="Night owls" weekday=sat time=02:30 '
             "tz=America/New_York start=2022-03-01")


async def test_calendar_tz_answers_with_the_zone_meant(dispatcher: Dispatcher, services: Services,
                                                      members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    async with TestClient(TestServer(build_web_app(services))) as client:
        answer = await client.get("/calendar/community.ics", params={"tz": "PST"})
        assert answer.status == 400
        assert "America/Los_Angeles" in await answer.text()
        good = await client.get("/calendar/community.ics", params={"tz": "Etc/UTC"})
        assert good.status == 200
