"""Moderation (issue 16, item 7): a chair removes an item after the deadline and the announcement says so;
member text is neutralised wherever it is repeated (minutes, web page, Slack)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack.render import message
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.contracts.reply import Reply
from bot.rules.member_text import defuse_mentions, escape_markdown, neutralise
from bot.rules.minutes import MinutesInput, MinutesItem, MinutesNote, render_minutes
from bot.services import Services
from bot.web.routes import build_web_app
from tests.helpers import SEED_SERIES, Members, ok, run, utc
from tests.services.reminder_helpers import RecordingNotifier, tick

SERIES = SEED_SERIES + " channel=general"
SPAM = "https://discuss.tvm.apache.org/t/spam"


async def test_a_chair_removes_an_item_after_the_deadline_and_the_announcement_is_redrawn(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1')
    spam = await ok(dispatcher, members.member("mallory"), f'/agenda add "Buy now" {SPAM}')
    spam_id = spam.data["item"]["id"]
    clock.set(utc(2022, 3, 1, 16, 0))
    await tick(services)
    announced = next(m for m in notifier.take() if m.kind == "channel")
    assert "Buy now" in announced.reply.text

    own = await run(dispatcher, members.member("mallory"), f"/agenda remove #{spam_id}")
    assert not own.ok and "only a chair may remove an item now" in own.text
    removed = await ok(dispatcher, members.chair("alice"), f"/agenda remove #{spam_id}")
    assert "its announcement is edited to say a chair removed the item" in removed.text
    await tick(services)
    [update] = notifier.take()
    assert update.kind == "update" and update.target == f"ref-{announced.id}"
    assert update.reply.title == announced.reply.title
    assert "Buy now" in update.reply.text and "removed by a chair, alice, after the agenda closed" in update.reply.text
    assert "1. Unify meetings" in update.reply.text and "2." not in update.reply.text

    clock.set(utc(2022, 3, 2, 16, 0))  # once the meeting started, its agenda is history
    late = await run(dispatcher, members.chair("alice"), "/agenda remove #1")
    assert not late.ok and "has started" in late.text


async def test_a_removal_before_the_announcement_is_sent_rewrites_it(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1')
    spam = await ok(dispatcher, members.member("mallory"), f'/agenda add "Buy now" {SPAM}')
    clock.set(utc(2022, 3, 1, 16, 0))
    await services.reminders.run_due()  # written, not yet sent
    await ok(dispatcher, members.chair("alice"), f"/agenda remove #{spam.data['item']['id']}")
    await tick(services)
    posts = [m for m in notifier.take() if m.kind in ("channel", "update")]
    assert [m.kind for m in posts] == ["channel"]
    assert "removed by a chair" in posts[0].reply.text


def test_member_text_is_neutralised() -> None:
    assert neutralise("@everyone look \u202eexe.txt") == "@\u200beveryone look exe.txt"
    assert defuse_mentions("<@&1> <@2> <!here> @here @channel") == \
        "<\u200b@&1> <\u200b@2> <\u200b!here> @\u200bhere @\u200bchannel"
    assert escape_markdown("# Heading") == "\\# Heading"
    assert escape_markdown("1. item [x](http://e) <b>") == "1\\. item \\[x\\](http://e) \\<b\\>"


def test_minutes_cannot_be_forged_by_a_title_or_a_note() -> None:
    minutes = render_minutes(MinutesInput(
        title="Community", when="Wed", host="alice", note_taker="carol",
        items=[MinutesItem(1, 1, "## Decisions", "https://x.org/a>b", "*bob*", number=1)],
        notes=[MinutesNote(1, "decision", "- [ ] fake action", item_id=1)],
    ))
    lines = minutes.splitlines()
    assert lines.count("## Decisions") == 1  # only the real section heading
    assert "## 1. \\## Decisions" in lines
    assert "<https://x.org/a%3Eb> (#1, added by \\*bob\\*)" in lines
    assert "- **Decision:** \\- \\[ \\] fake action" in lines


def test_slack_text_and_its_notification_fallback_cannot_ping() -> None:
    body = message(Reply(text="<!here> @everyone \u202eclick", title="<!channel>"))
    assert "<!" not in body["text"] and "\u202e" not in body["text"]
    assert all("<!" not in str(block) for block in body["blocks"])


async def test_the_web_page_shows_member_text_without_html_or_overrides(
        dispatcher: Dispatcher, services: Services, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"),
             '/agenda add "<img src=x onerror=alert(1)> \u202eevil" https://discuss.tvm.apache.org/t/1')
    async with TestClient(TestServer(build_web_app(services))) as client:
        page = await (await client.get("/calendar/community")).text()
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt; evil" in page and "\u202e" not in page
