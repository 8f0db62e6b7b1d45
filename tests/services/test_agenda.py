"""Agenda rules through the command layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok, run, stored

RFC = "https://discuss.tvm.apache.org/t/rfc-1"
ISSUE = "https://github.com/apache/tvm/issues/2"


async def snapshot(services: Services) -> dict[str, object]:
    """Everything stored, to check that a failed command changed nothing."""
    return await stored(services)


async def test_items_go_in_order_added_and_deadline_is_24h_before(
    dispatcher: Dispatcher, members: Members, clock: ManualClock
) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), f'/agenda add "First" {RFC}')
    await ok(dispatcher, members.member("dan"), f'/agenda add "Second" {ISSUE}')
    listed = await ok(dispatcher, members.member("eve"), "/agenda list")
    meeting = listed.data["meeting"]
    assert [(i["position"], i["title"], i["author"]) for i in meeting["agenda"]] == [
        (1, "First", "console:bob"), (2, "Second", "console:dan")]
    assert meeting["deadline"] == "2022-03-01T16:00:00Z"

    clock.set(clock.now().replace(hour=16, minute=0))  # exactly the deadline: closed
    late = await run(dispatcher, members.member("bob"), '/agenda add "Late" https://x.org/late')
    assert not late.ok
    assert "closed at Tue 2022-03-01 08:00 PST" in late.text
    assert "date=2022-03-09" in late.text  # the next meeting is offered


async def test_deadline_across_dst_is_24_elapsed_hours(dispatcher: Dispatcher, members: Members,
                                                       clock: ManualClock) -> None:
    """2022-03-16 08:00 PDT; the US changed clocks on 2022-03-13, so the deadline 24 h before is
    2022-03-15 08:00 PDT = 15:00 UTC."""
    await ok(dispatcher, members.chair(), SEED_SERIES)
    reply = await ok(dispatcher, members.member("bob"), f'/agenda add "Later" {RFC} date=2022-03-16')
    assert reply.data["meeting"]["deadline"] == "2022-03-15T15:00:00Z"
    assert reply.data["meeting"]["starts_at"] == "2022-03-16T15:00:00Z"


async def test_bad_input_changes_nothing(dispatcher: Dispatcher, members: Members, services: Services) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), f'/agenda add "First" {RFC}')
    before = await snapshot(services)
    cases = {
        f'/agenda add "Dup" {RFC}/': "already on this agenda",
        '/agenda add "No link"': "needs <link>",
        '/agenda add "Bad" mailto:x@y.org': "not a web link",
        f'/agenda add "{"x" * 5000}" {ISSUE}': "keep it under",
        f'/agenda add "T" {ISSUE} date=2022-03-03': "no meeting on Thu 2022-03-03",
        f'/agenda add "T" {ISSUE} nosuch': "There is no series 'nosuch'",
        "/agenda remove #99": "no agenda item #99",
        "/agenda move #1 2": "for chairs",
        "/meeting cancel": "for chairs",
        "/meeting series create slug=x2 name=X weekday=wed time=08:00 tz=UTC": "for chairs",
    }
    for text, message in cases.items():
        reply = await run(dispatcher, members.member("dan"), text)
        assert not reply.ok and message in reply.text, (text, reply.text)
        assert reply.ephemeral
    assert await snapshot(services) == before


async def test_remove_by_author_or_chair_and_chair_reorder(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    first = await ok(dispatcher, members.member("bob"), f'/agenda add "First" {RFC}')
    second = await ok(dispatcher, members.member("dan"), f'/agenda add "Second" {ISSUE}')
    third = await ok(dispatcher, members.member("dan"), '/agenda add "Third" https://x.org/3')
    refused = await run(dispatcher, members.member("dan"), f"/agenda remove #{first.data['item']['id']}")
    assert not refused.ok and "Only bob" in refused.text
    moved = await ok(dispatcher, members.chair(), f"/agenda move #{third.data['item']['id']} 1")
    assert [i["title"] for i in moved.data["meeting"]["agenda"]] == ["Third", "First", "Second"]
    removed = await ok(dispatcher, members.member("bob"), f"/agenda remove #{first.data['item']['id']}")
    assert [(i["position"], i["title"]) for i in removed.data["meeting"]["agenda"]] == [(1, "Third"), (2, "Second")]
    by_chair = await ok(dispatcher, members.chair("carol"), f"/agenda remove #{second.data['item']['id']}")
    assert [i["title"] for i in by_chair.data["meeting"]["agenda"]] == ["Third"]


async def test_config_member_is_chair_without_platform_role(dispatcher: Dispatcher, members: Members) -> None:
    # carol is listed under [roles.PMC] members in the test settings.
    reply = await run(dispatcher, members.member("carol"), SEED_SERIES)
    assert reply.ok


async def test_cancel_restore_and_next_meeting(dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.chair(), "/meeting cancel 2022-03-02")
    nxt = await ok(dispatcher, members.member(), "/meeting next")
    assert nxt.data["meeting"]["starts_at"] == "2022-03-09T16:00:00Z"
    assert "Cancelled before it: Wed 2022-03-02" in nxt.text
    refused = await run(dispatcher, members.member(), f'/agenda add "X" {RFC} date=2022-03-02')
    assert not refused.ok and "is cancelled" in refused.text and "date=2022-03-09" in refused.text
    again = await run(dispatcher, members.chair(), "/meeting cancel 2022-03-02")
    assert not again.ok and "already cancelled" in again.text
    await ok(dispatcher, members.chair(), "/meeting restore 2022-03-02")
    nxt = await ok(dispatcher, members.member(), "/meeting next")
    assert nxt.data["meeting"]["starts_at"] == "2022-03-02T16:00:00Z"
    listed = await ok(dispatcher, members.member(), "/meeting list count=3")
    assert [m["starts_at"] for m in listed.data["meetings"]] == [
        "2022-03-02T16:00:00Z", "2022-03-09T16:00:00Z", "2022-03-16T15:00:00Z"]
    clock.advance(timedelta(days=2))
    past = await run(dispatcher, members.chair(), "/meeting cancel 2022-03-02")
    assert not past.ok and "already started" in past.text


async def test_one_off_meeting(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    added = await ok(dispatcher, members.chair(), '/meeting add 2022-03-04T09:00 tz=Europe/Berlin name="Release sync"')
    assert added.data["meeting"]["starts_at"] == "2022-03-04T08:00:00Z"
    listed = await ok(dispatcher, members.member(), "/meeting list count=3")
    assert [m["starts_at"] for m in listed.data["meetings"]] == [
        "2022-03-02T16:00:00Z", "2022-03-04T08:00:00Z", "2022-03-09T16:00:00Z"]
    item = await ok(dispatcher, members.member(), f'/agenda add "For the sync" {RFC} date=2022-03-04')
    assert item.data["meeting"]["starts_at"] == "2022-03-04T08:00:00Z"
    gap = await run(dispatcher, members.chair(), "/meeting add 2022-03-13T02:30 tz=America/New_York")
    assert not gap.ok and "does not exist" in gap.text
    clash = await run(dispatcher, members.chair(), "/meeting add 2022-03-09T08:00 tz=America/Los_Angeles")
    assert not clash.ok and "already meets" in clash.text


async def test_series_slug_is_unique_and_several_series_need_a_name(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    taken = await run(dispatcher, members.chair(), SEED_SERIES)
    assert not taken.ok and "already has a series named 'community'" in taken.text
    await ok(dispatcher, members.chair(), '/meeting series create slug=relax name="Relax" weekday=tue time=09:00 '
                                          "tz=Asia/Shanghai")
    which = await run(dispatcher, members.member(), '/agenda add "T" https://discuss.tvm.apache.org/t/1')
    assert not which.ok and "several (community, relax)" in which.text
    relax = await ok(dispatcher, members.member(), "/agenda list relax")
    assert relax.data["meeting"]["series"] == "relax"
    other_workspace = Members(members.settings, workspace="elsewhere")
    hidden = await run(dispatcher, other_workspace.member(), "/agenda list relax")
    assert not hidden.ok and "no series 'relax'" in hidden.text


async def test_me_tz(dispatcher: Dispatcher, members: Members, services: Services) -> None:
    await ok(dispatcher, members.member("bob"), "/me tz Europe/Berlin")
    info = await services.members.get("tvm", "console:bob")
    assert info is not None and info.timezone == "Europe/Berlin"
    bad = await run(dispatcher, members.member("bob"), "/me tz Europe/Berln")
    assert not bad.ok and "Did you mean Europe/Berlin" in bad.text
