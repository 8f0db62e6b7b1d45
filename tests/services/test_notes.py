"""Meeting notes and minutes (bot/services/notes.py): who may write them, their options, publishing,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import Members, ok, run
from tests.services.rotation_helpers import FIRST, season_start


async def test_notes_by_note_taker_and_minutes(dispatcher: Dispatcher, members: Members, services: Services,
                                               clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    added = await ok(dispatcher, members.member("carol"),
                     '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    item = added.data["item"]["id"]
    clock.set(FIRST + timedelta(minutes=10))
    # carol wrote an item, so the note-taker is erin (not involved)
    stranger = await run(dispatcher, members.member("frank"), '/notes add "I was there"')
    assert not stranger.ok
    assert stranger.text == ("Only the note-taker, the host or a chair may add notes for this meeting "
                             "(erin (note-taker), bob (host)): ask one of them.")
    await ok(dispatcher, members.member("erin"), f'/notes add "Everyone agrees on one meeting" item=#{item}')
    await ok(dispatcher, members.member("erin"), f'/notes add "Merge the meetings" item=#{item} kind=decision')
    await ok(dispatcher, members.member("bob"), f'/notes add "Update the calendar" item=#{item} owner=@carol')
    wrong_item = await run(dispatcher, members.member("erin"), '/notes add "x" item=#999')
    assert not wrong_item.ok and "#999 is not on the agenda" in wrong_item.text
    shown = await ok(dispatcher, members.member("zoe"), "/notes show")
    assert [n["kind"] for n in shown.data["notes"]] == ["note", "decision", "action"]
    assert shown.data["notes"][2]["owner"] == "console:carol"
    denied = await run(dispatcher, members.member("frank"), "/notes publish")
    assert not denied.ok
    published = await ok(dispatcher, members.member("erin"), "/notes publish")
    # The minutes go to the channel through the outbox; the command confirms privately.
    assert published.ephemeral and published.data["posted"] is True
    assert "## 1. Unify meetings" in published.data["markdown"]
    assert "### carol\n\n- [ ] Update the calendar (item 1)" in published.data["markdown"]
    exported = await services.export.as_dict()
    assert [n["text"] for n in exported["meetings"][0]["notes"]] == [
        "Everyone agrees on one meeting", "Merge the meetings", "Update the calendar"]
    markdown = await services.export.as_markdown()
    assert "### Minutes: TVM Community Meeting" in markdown
    # a day and a half after the end, notes need a date
    clock.advance(timedelta(hours=30))
    late = await run(dispatcher, members.member("erin"), '/notes add "late"')
    assert not late.ok and "name the meeting with date=YYYY-MM-DD" in late.text
    await ok(dispatcher, members.member("erin"), '/notes add "late" date=2022-03-02')


async def test_note_options_are_checked(dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await season_start(dispatcher, members)
    early = await run(dispatcher, members.member("erin"), '/notes add "too early" date=2022-03-02')
    assert not early.ok and "has not started yet" in early.text
    clock.set(FIRST + timedelta(minutes=5))
    mixed = await run(dispatcher, members.member("erin"), '/notes add "x" kind=decision owner=@bob')
    assert not mixed.ok and mixed.text == "owner= is for action items: add kind=action, or leave owner= out."
    chair = await ok(dispatcher, members.chair(), '/notes add "Chairs may write too" kind=decision')
    assert chair.data["count"] == 1
