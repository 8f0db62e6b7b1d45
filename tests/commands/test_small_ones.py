"""Issue 16 item 10, through the console adapter (``run_console``, what ``quorum console`` runs) and the
Discord path (options already split), on both databases: the vote tag is not doubled, an empty note and an
unquoted multi-word title get a sentence saying so, ``/rotation join`` answers with the member's own turns,
provisional hosts are marked on the page and in the feed, past meetings read held or cancelled after an
outage of any length (nothing sent late), and control characters are refused wherever command text enters."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.console import run_console
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.commands.registry import REGISTRY
from bot.contracts.actor import Actor
from bot.services import Services
from bot.services.vote_render import untagged
from bot.web.routes import build_web_app
from storage.queries import meetings as meetings_q
from tests.helpers import SEED_SERIES, Members, ok, utc
from tests.services.reminder_helpers import RecordingNotifier, tick

LINK = "https://discuss.tvm.apache.org/t/12171"


async def console(dispatcher: Dispatcher, actor: Actor, *lines: str) -> list[dict[str, Any]]:
    """The commands as ``quorum console --json`` answers them."""
    out = io.StringIO()
    await run_console(dispatcher, actor, [*lines], out, as_json=True)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_the_vote_tag_is_not_doubled(dispatcher: Dispatcher, members: Members) -> None:
    (opened,) = await console(dispatcher, members.chair("carol"), '/vote open "[VOTE] Release 1.0"')
    assert opened["ok"], opened["text"]
    assert opened["text"].startswith("[VOTE] Release 1.0\n")
    assert "[VOTE] [VOTE]" not in opened["text"]
    assert untagged("[vote][RESULT] Release") == "Release" and untagged("Release [VOTE]") == "Release [VOTE]"
    assert untagged("[VOTE]") == "[VOTE]"  # a title that is only the tag keeps it rather than becoming empty


async def test_an_empty_note_says_the_note_is_empty(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair("carol"), SEED_SERIES)
    (empty,) = await console(dispatcher, members.chair("carol"), '/notes add ""')
    assert not empty["ok"]
    assert empty["text"] == 'The note is empty: write it in quotes, for example "your note here".'


async def test_an_unquoted_title_is_asked_in_quotes_and_nothing_changes(dispatcher: Dispatcher,
                                                                        members: Members) -> None:
    await ok(dispatcher, members.chair("carol"), SEED_SERIES)
    answers = await console(dispatcher, members.chair("carol"), f"/agenda add Release plan {LINK}",
                            "/agenda add Release plan", "/vote open Release 1.0 rule=consensus",
                            '/vote cast #1 +1 looks good', "/agenda list")
    agenda_with_link, agenda_without_link, vote, cast, listing = answers
    assert agenda_with_link["text"].startswith(
        'Put the title in quotes when it has several words, for example /agenda add "Release plan". Usage:')
    assert agenda_without_link["text"].startswith('Put the title in quotes when it has several words')
    assert vote["text"].startswith('Put the title in quotes when it has several words, for example '
                                   '/vote open "Release 1.0". Usage:')
    assert cast["text"].startswith('Put the comment in quotes when it has several words, for example '
                                   '/vote cast #1 +1 "looks good".')
    assert not any(a["ok"] for a in answers[:4])
    assert listing["ok"] and "Release" not in listing["text"]
    # One word needs no quotes.
    (single,) = await console(dispatcher, members.chair("carol"), f"/agenda add Release {LINK}")
    assert single["ok"], single["text"]
    # A note's last word reads as a series name (the grammar cannot tell): the answer says what to do.
    (note,) = await console(dispatcher, members.chair("carol"), "/notes add hello world")
    assert not note["ok"] and note["text"].startswith("There is no series 'world'.")
    assert note["text"].endswith("If 'world' is part of your text, put the whole text in quotes.")


async def test_rotation_join_answers_with_the_members_own_turns(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair("carol"), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), "/rotation join host")
    (joined,) = await console(dispatcher, members.member("dave"), "/rotation join host")
    text = joined["text"]
    assert joined["ok"] and joined["ephemeral"]
    assert text.startswith("You joined the host roster of TVM Community Meeting.\nYour next turns:\n")
    turns = [line for line in text.splitlines() if line.startswith("- ")]
    assert turns and all(line.endswith(": host (provisional)") for line in turns)
    assert "bob" not in text  # not the whole table
    (other,) = await console(dispatcher, members.member("erin"), "/rotation join notes")
    assert "note-taker (provisional)" in other["text"] and "dave" not in other["text"]


async def test_provisional_hosts_are_marked_on_the_page_and_in_the_feed(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    await ok(dispatcher, members.chair("carol"), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), "/rotation join host")
    await ok(dispatcher, members.member("dave"), "/rotation join notes")
    await ok(dispatcher, members.member("erin"), f'/agenda add "Release plan" {LINK}')
    feed = (await services.calendar.feed("community")).body.decode().replace("\r\n ", "")
    assert "Host: bob (provisional)\\nNote-taker: dave (provisional)" in feed
    async with TestClient(TestServer(build_web_app(services))) as client:
        html = await (await client.get("/calendar/community")).text()
    assert "Host: bob (provisional) · Note-taker: dave (provisional)" in html
    # At the agenda deadline the pick is fixed: no longer provisional for that meeting.
    services.notifiers["console"] = RecordingNotifier(clock)
    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    fixed = (await services.calendar.feed("community")).body.decode().replace("\r\n ", "")
    assert "Host: bob\\nNote-taker: dave\\n" in fixed


async def test_meetings_inside_a_long_outage_are_held_or_cancelled_with_nothing_sent(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("carol"), SEED_SERIES + " channel=general")
    await ok(dispatcher, members.member("erin"), f'/agenda add "Release plan" {LINK} date=2022-03-09')
    await tick(services)
    notifier.take()
    # Down from Tuesday 2022-03-01 12:00 UTC for 20 days: the meetings of 03-02 (no items), 03-09 (one item)
    # and 03-16 (none) start while no tick runs.
    clock.set(clock.now() + timedelta(days=20))
    # Before any tick, the page and the feed already read right.
    views = await _past_views(services)
    assert views == {"2022-03-02": "cancelled", "2022-03-09": "held", "2022-03-16": "cancelled"}
    feed = (await services.calendar.feed("community")).body.decode()
    assert feed.count("STATUS:CANCELLED") >= 2
    (listed,) = await console(dispatcher, members.member("erin"), "/agenda list date=2022-03-09")
    assert listed["ok"], listed["text"]
    await tick(services)
    sent = notifier.take()
    assert not [m for m in sent if any(day in m.key for day in ("2022-03-02", "2022-03-09", "2022-03-16"))]
    async with services.db.read() as session:
        stored = {m.occurrence_key: (m.status, m.status_changed_by)
                  for m in await meetings_q.meetings_of_series(session, 1)}
    assert stored["2022-03-09"] == ("held", "quorum")
    assert stored.get("2022-03-02", ("cancelled", "quorum")) == ("cancelled", "quorum")


async def _past_views(services: Services) -> dict[str, str]:
    async with services.db.read() as session:
        series = await services.meetings.series_in(session, "tvm", "community")
        occurrences = await services.meetings.occurrences(session, series, utc(2022, 3, 1), utc(2022, 3, 18))
        views = await services.meetings.views(session, series, occurrences)
    return {v.occurrence.key: v.status for v in views}


async def test_control_characters_are_refused_on_both_paths(dispatcher: Dispatcher, members: Members,
                                                            services: Services) -> None:
    await ok(dispatcher, members.chair("carol"), SEED_SERIES)
    nul, bell = await console(dispatcher, members.member("erin"), f'/agenda add "Release\x00plan" {LINK}',
                              '/notes add "Erin\x07"')
    assert nul["text"] == ("The command has an invisible control character (U+0000) at character 21: remove it "
                           "(retype that part) and try again.")
    assert not bell["ok"] and "(U+0007)" in bell["text"]
    # Discord delivers option values already split: the same check.
    add = REGISTRY.get(("agenda", "add"))
    assert add is not None
    reply = await dispatcher.run(add, {"title": "Release\x1bplan", "link": LINK}, members.member("erin"))
    assert not reply.ok and "(U+001B)" in reply.text
    # Tabs and line breaks are only spaces between words.
    (tabbed,) = await console(dispatcher, members.member("erin"), f'/agenda add\t"Release plan"\t{LINK}')
    assert tabbed["ok"], tabbed["text"]
    view = await services.agenda.list("tvm")
    assert [item.title for item in view.agenda] == ["Release plan"]
