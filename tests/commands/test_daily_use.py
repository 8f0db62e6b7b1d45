"""Issue 16, items 1-4, through the commands as members type them, on SQLite and PostgreSQL: a new series
starts with a meeting that can still be prepared; one-off meetings (standalone, and in another zone on
another calendar day); several series in one workspace; names and numbers per workspace."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.contracts.actor import Actor
from bot.services import Services
from tests.helpers import Members, ok, run, utc
from tests.services.reminder_helpers import RecordingNotifier, tick

README_SERIES = ('/meeting series create slug=community name="Community meeting" weekday=wed time=08:00 '
                 "tz=America/Los_Angeles zones=UTC,Europe/London,Europe/Berlin,Asia/Kolkata,Asia/Shanghai")
README_ITEM = '/agenda add "Unify the community meetings" https://discuss.tvm.apache.org/t/12171'


def iso(text: object) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


# -- item 1 ---------------------------------------------------------------------------------------------


async def test_the_readme_example_works_whatever_the_weekday_and_hour(dispatcher: Dispatcher, members: Members,
                                                                     clock: ManualClock) -> None:
    # Every weekday of a week, at hours on both sides of Wednesday 08:00 Los Angeles and of its deadline
    # (Tuesday 08:00 there, 15:00 or 16:00 UTC), across the US change to daylight saving (2026-03-08).
    for day in range(2, 10):
        for hour, minute in ((0, 0), (7, 30), (15, 59), (16, 1), (23, 0)):
            now = utc(2026, 3, day, hour, minute)
            clock.set(now)
            chair = Members(members.settings, workspace=f"w{day}-{hour}").chair()
            created = await ok(dispatcher, chair, README_SERIES)
            first = created.moments[0]
            assert "Its agenda closes" in created.text and first - timedelta(hours=24) > now
            assert first - now <= timedelta(days=8)  # and it is this week's or next week's, not later
            added = await ok(dispatcher, chair, README_ITEM)
            assert iso(added.data["meeting"]["starts_at"]) == first, (now, added.text)
            shown = await ok(dispatcher, chair, "/meeting next")
            assert iso(shown.data["meeting"]["starts_at"]) == first


async def test_created_on_a_tuesday_afternoon_the_first_meeting_is_next_week(dispatcher: Dispatcher,
                                                                           services: Services, members: Members,
                                                                           clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 17, 22, 0))  # Tuesday 15:00 in Los Angeles: tomorrow's agenda closed at 08:00
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    created = await ok(dispatcher, members.chair(), README_SERIES + " channel=general")
    assert "First meeting: Wed 2026-03-25 08:00 PDT" in created.text
    assert "Its agenda closes Tue 2026-03-24 08:00 PDT" in created.text
    # The scheduler, through tomorrow's meeting time, announces nothing: no "No meeting this week".
    for hours in (0, 1, 18, 24):
        clock.set(utc(2026, 3, 17, 22, 0) + timedelta(hours=hours))
        await tick(services)
    assert notifier.take() == []
    clock.set(utc(2026, 3, 17, 22, 0))
    # start= still says otherwise: that meeting is created, and the reply says its agenda has closed.
    other = Members(members.settings, workspace="elsewhere").chair()
    forced = await ok(dispatcher, other, README_SERIES + " start=2026-03-18")
    assert "First meeting: Wed 2026-03-18" in forced.text and "Its agenda closed" in forced.text


# -- item 2 ---------------------------------------------------------------------------------------------


async def test_a_one_off_in_a_workspace_with_no_series(dispatcher: Dispatcher, members: Members,
                                                       clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 2, 12, 0))
    added = await ok(dispatcher, members.chair(), '/meeting add 2026-03-12T09:00 tz=Europe/Berlin name="Kickoff"')
    assert added.data["meeting"]["name"] == "Kickoff" and added.data["meeting"]["number"] == 1
    # The workspace defaults: display zones from the config (UTC here), the 24 h deadline.
    assert iso(added.data["meeting"]["deadline"]) == utc(2026, 3, 11, 8, 0)
    listed = await ok(dispatcher, members.member(), "/meeting list")
    assert "Kickoff" in listed.text and len(listed.data["meetings"]) == 1  # no weekly meetings invented
    item = await ok(dispatcher, members.member(), README_ITEM)
    assert item.data["meeting"]["name"] == "Kickoff"
    series = await ok(dispatcher, members.member(), "/meeting series list")
    assert "one-off meetings only" in series.text


async def test_a_one_off_on_another_calendar_day_is_reachable(dispatcher: Dispatcher, services: Services,
                                                             members: Members, clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 2, 12, 0))
    await ok(dispatcher, members.chair(), README_SERIES)
    # 09:00 in Kolkata on the 12th is 20:30 on the 11th in Los Angeles (PDT since the 8th).
    added = await ok(dispatcher, members.chair(),
                     '/meeting add 2026-03-12T09:00 tz=Asia/Kolkata name="Release planning"')
    number = added.data["meeting"]["number"]
    assert iso(added.data["meeting"]["starts_at"]) == utc(2026, 3, 12, 3, 30)
    bob = members.member("bob")
    by_date = await ok(dispatcher, bob, README_ITEM + " date=2026-03-12")
    assert by_date.data["meeting"]["name"] == "Release planning"
    by_name = await ok(dispatcher, bob, '/agenda add "Roadmap" https://github.com/apache/tvm/issues/2 '
                                        'meeting="release planning"')
    by_number = await ok(dispatcher, bob, f'/agenda add "CI" https://github.com/apache/tvm/issues/3 meeting=#{number}')
    assert by_name.data["meeting"]["number"] == by_number.data["meeting"]["number"] == number
    shown = await ok(dispatcher, bob, f"/agenda list meeting=#{number}")
    assert [i["title"] for i in shown.data["meeting"]["agenda"]] == [
        "Unify the community meetings", "Roadmap", "CI"]
    listed = await ok(dispatcher, bob, "/meeting list")
    line = next(li for li in listed.text.splitlines() if "Release planning" in li)
    assert "3 agenda items" in line and line.startswith(f"- #{number} Release planning: ")
    missing = await run(dispatcher, bob, README_ITEM + ' meeting="Retro"')
    assert not missing.ok and "no upcoming meeting Retro" in missing.text and "#1 Release planning" in missing.text
    # At its deadline the one-off is announced with its items, not cancelled as empty.
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    clock.set(utc(2026, 3, 11, 3, 30))
    await tick(services)
    (posted,) = [m.reply for m in notifier.take() if m.key == "mtg:1:extra:2026-03-12T03:30Z:announce"]
    assert posted.title == "Release planning: the agenda is closed"
    assert "Roadmap" in posted.text and "CI" in posted.text


# -- item 3 ---------------------------------------------------------------------------------------------


def in_channel(members: Members, name: str, channel: str | None, *roles: str) -> Actor:
    return make_actor(members.settings, workspace_id=members.workspace, platform="console",
                      member_id=f"console:{name}", display_name=name, platform_roles=frozenset(roles),
                      channel_id=channel)


async def test_several_series_in_one_workspace(dispatcher: Dispatcher, members: Members,
                                               clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 2, 12, 0))  # Monday
    await ok(dispatcher, members.chair(), README_SERIES + " channel=general")
    await ok(dispatcher, members.chair(), '/meeting series create slug=relax name="Relax" weekday=wed time=06:00 '
                                          "tz=Asia/Shanghai channel=#relax")
    bob = members.member("bob")
    # Reads show the soonest meeting across series: Relax on Wed 4 Mar 06:00 Shanghai (Tue 22:00 UTC) comes
    # before Community on Wed 4 Mar 08:00 Los Angeles (16:00 UTC), though "community" sorts first.
    nxt = await ok(dispatcher, bob, "/meeting next")
    agenda = await ok(dispatcher, bob, "/agenda list")
    assert nxt.data["meeting"]["series"] == agenda.data["meeting"]["series"] == "relax"
    assert iso(nxt.data["meeting"]["starts_at"]) == utc(2026, 3, 3, 22, 0)
    listed = await ok(dispatcher, bob, "/meeting list count=4")
    assert {m["series"] for m in listed.data["meetings"]} == {"community", "relax"}
    starts = [iso(m["starts_at"]) for m in listed.data["meetings"]]
    assert starts == sorted(starts)
    # Writes outside a series' channel ask, listing the choices, and change nothing.
    asked = await run(dispatcher, bob, README_ITEM)
    assert not asked.ok and "several (community, relax)" in asked.text and "/meeting series default" in asked.text
    assert (await ok(dispatcher, bob, "/agenda list community")).data["meeting"]["agenda"] == []
    # In a series' channel, that series.
    here = await ok(dispatcher, in_channel(members, "bob", "relax"), README_ITEM)
    assert here.data["meeting"]["series"] == "relax"
    # A member may not choose the default; a chair may, and writes elsewhere then use it.
    refused = await run(dispatcher, bob, "/meeting series default community")
    assert not refused.ok and "chair" in refused.text
    await ok(dispatcher, members.chair(), "/meeting series default community")
    default = await ok(dispatcher, bob, README_ITEM)
    assert default.data["meeting"]["series"] == "community"
    # The channel still wins over the default.
    again = await ok(dispatcher, in_channel(members, "dan", "relax"), '/agenda add "B" https://github.com/a/b/issues/1')
    assert again.data["meeting"]["series"] == "relax"


# -- item 4 ---------------------------------------------------------------------------------------------


async def test_names_and_numbers_are_per_workspace(dispatcher: Dispatcher, services: Services, members: Members,
                                                   clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 2, 12, 0))
    other = Members(members.settings, workspace="other")
    await ok(dispatcher, members.chair(), README_SERIES)
    await ok(dispatcher, members.chair(), '/meeting series create slug=relax name="Relax" weekday=tue time=09:00 '
                                          "tz=Asia/Shanghai")
    # A second workspace may use the same slug; its errors never list the first one's series.
    await ok(dispatcher, other.chair(), README_SERIES)
    taken = await run(dispatcher, other.chair(), README_SERIES)
    assert not taken.ok and "already has a series named 'community'" in taken.text
    hidden = await run(dispatcher, other.member(), "/agenda list relax")
    assert not hidden.ok and "no series 'relax'" in hidden.text and "This workspace has: community." in hidden.text
    # Numbers: the first workspace's activity does not show in the second's numbers.
    for n in range(3):
        await ok(dispatcher, members.member(), f'/agenda add "T{n}" https://github.com/a/b/issues/{n} community')
    await ok(dispatcher, members.chair(), '/vote open "First vote"')
    await ok(dispatcher, members.chair(), '/vote open "Second vote"')
    item = await ok(dispatcher, other.member(), README_ITEM)
    assert item.data["item"]["number"] == 1 and "Added #1 " in item.text
    vote = await ok(dispatcher, other.chair(), '/vote open "Their first vote"')
    assert vote.data["vote"]["number"] == 1 and "#1" in vote.text
    # #2 is a vote of the first workspace only: the second has none.
    missing = await run(dispatcher, other.member(), "/vote status #2")
    assert not missing.ok and "no vote #2" in missing.text
    cast = await ok(dispatcher, other.chair(), "/vote cast #1 +1")
    assert cast.data["vote"]["title"] == "Their first vote"
    mine = await ok(dispatcher, members.member(), "/vote status #2")
    assert mine.data["vote"]["title"] == "Second vote"
    gone = await run(dispatcher, other.member(), "/agenda remove #3")
    assert not gone.ok and "no agenda item #3" in gone.text
    removed = await ok(dispatcher, members.member(), "/agenda remove #3")
    assert removed.data["removed"] == 3
    # The calendars: the first keeps /calendar/community.ics; the second gets a name of its own.
    first = await services.calendar.feed("community")
    assert b"Community meeting" in first.body
    async with services.db.read() as session:
        from storage.queries import meetings as meetings_q
        theirs = await meetings_q.series_by_slug(session, "other", "community")
    assert theirs is not None and theirs.feed_name.startswith("community-")
    assert (await services.calendar.feed(theirs.feed_name)).slug == theirs.feed_name
