"""Times in each member's own zone (issue 16, item 6): the console adds a member's /me tz times to a reply
that shows a meeting's start and agenda deadline or a vote's close; Slack's blocks label each reader's
own time; Discord's ``<t:…>`` are checked in tests/adapters/discord/test_moderation.py."""

from __future__ import annotations

import io

from bot.adapters.console import run_console
from bot.adapters.slack.render import reply_blocks
from bot.commands.dispatcher import Dispatcher
from tests.helpers import SEED_SERIES, Members, ok

ADD = '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1'


async def console(dispatcher: Dispatcher, members: Members, name: str, *lines: str) -> str:
    out = io.StringIO()
    await run_console(dispatcher, members.member(name), list(lines), out)
    return out.getvalue()


async def test_console_replies_show_the_members_own_zone_next_to_the_home_zone(
        dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair("alice"), SEED_SERIES)
    text = await console(dispatcher, members, "bob", "/me tz Asia/Kolkata", ADD, "/agenda list")
    # The home zone, then bob's own: the meeting at 08:00 PST is 21:30 IST; the deadline a day earlier.
    assert "Wed 2022-03-02 08:00 PST (America/Los_Angeles)" in text
    own = ("Your time: starts Wed 2022-03-02 21:30 IST (Asia/Kolkata) · "
           "agenda deadline Tue 2022-03-01 21:30 IST (Asia/Kolkata)")
    assert text.count(own) == 2, text
    # A member with no zone of their own sees the home zone only.
    assert "Your time" not in await console(dispatcher, members, "dan", "/agenda list")


async def test_console_vote_replies_show_the_close_in_the_members_zone(
        dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC" duration=72h')
    text = await console(dispatcher, members, "carol", "/me tz Europe/Berlin", "/vote cast #1 +1")
    # Opened Tue 2022-03-01 12:00 UTC, closes Fri 12:00 UTC = 13:00 CET.
    assert "Your time: vote closes Fri 2022-03-04 13:00 CET (Europe/Berlin)" in text


async def test_slack_labels_each_readers_own_time_of_the_start_and_the_deadline(
        dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair("alice"), SEED_SERIES)
    reply = await ok(dispatcher, members.member("bob"), ADD)
    context = [b for b in reply_blocks(reply) if b["type"] == "context"]
    shown = context[0]["elements"][0]["text"]
    assert shown.startswith("Your time: starts <!date^1646236800^")
    assert " · agenda deadline <!date^1646150400^" in shown
