"""The real vote flow through Slack, end to end: a chair opens a vote with a slash command, members click
the buttons of the message Quorum rendered, a veto goes through the modal, a retry counts once, and the
result and the reminder reach Slack through the outbox of the app wired as ``bot/app.py`` wires it.

Everything goes through signed requests into the running aiohttp app and a fake Slack Web API; the
database is real (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.services.votes import VoteView
from storage.queries import votes as votes_q
from tests.adapters.slack.conftest import CHAIR, MEMBER, TEAM, SlackHarness, texts
from tests.adapters.slack.fake_slack import Call, FakeSlack, block_actions_body, view_submission_body

FORM = "application/x-www-form-urlencoded"
CHANNEL = "C2147483705"  # the channel slash_command_body and block_actions_body use
CAROL, DAN, OUTSIDER, CONFIG_MEMBER = "U0CAROL1", "U0DAN001", "U0OUTSDR", "U0CONFIG"
WORKSPACE = f"slack:{TEAM}"


def mid(user: str) -> str:
    return f"slack:{TEAM}:{user}"


@pytest.fixture
async def app_slack(database_url: str, settings: Settings, clock: ManualClock,
                    fake_slack: FakeSlack) -> AsyncIterator[tuple[App, SlackHarness]]:
    """The whole app as ``quorum run`` builds it (Slack notifier and role directory registered), its web
    server running; the ticker is driven by hand through ``App.reminders_tick``."""
    fake_slack.add_user(CAROL, "Carol", "Asia/Shanghai")
    fake_slack.add_user(DAN, "Dan", "America/New_York")
    fake_slack.add_user(OUTSIDER, "Olga", "Europe/Paris")
    fake_slack.add_user(CONFIG_MEMBER, "Erin", "Europe/London")
    fake_slack.groups["tvm-pmc"][1].update({MEMBER, CAROL, DAN})  # CHAIR is in it already
    app = build_app(replace(settings, database_url=database_url), clock=clock)
    assert app.slack is not None
    client: TestClient[Any, Any] = TestClient(TestServer(app.web_app, host="127.0.0.1"))
    await client.start_server()
    harness = SlackHarness(app.slack, client, fake_slack, clock, app.services)
    try:
        yield app, harness
    finally:
        await client.close()
        await app.close()


VOTE_TS = "1646136001.000100"  # the fake's first chat.postMessage: the vote's message


async def open_vote(slack: SlackHarness, text: str) -> tuple[VoteView, dict[str, Any]]:
    """Open a vote; the bot posts its message in the channel itself (so it may edit it later)."""
    message = await slack.command_posting("/vote", text, user=CHAIR)
    assert message["channel"] == CHANNEL, texts(message)
    votes = await slack.services.votes.list_votes(WORKSPACE, "open")
    return max(votes, key=lambda v: v.id), message


def buttons_of(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The buttons of a rendered message, by label."""
    found: dict[str, dict[str, Any]] = {}
    for block in message.get("blocks", []):
        if block["type"] == "actions":
            for element in block["elements"]:
                found[element["text"]["text"]] = element
    return found


def click_body(slack: SlackHarness, button: dict[str, Any], user: str, *, message_ts: str,
               channel: str = CHANNEL) -> str:
    """The ``block_actions`` Slack posts when ``user`` clicks this rendered button."""
    number = slack.next_id()
    return block_actions_body(team=TEAM, user=user, user_name=slack.fake.users[user]["name"],
                              action_id=button["action_id"], value=button["value"],
                              response_url=slack.fake.url(f"/respond/click{number}"),
                              trigger_id=f"13345224609.click{number}.abc", channel=channel, message_ts=message_ts)


async def click(slack: SlackHarness, button: dict[str, Any], user: str, *, message_ts: str = VOTE_TS,
                channel: str = CHANNEL) -> dict[str, Any]:
    """Click and return the answer the clicker sees (on the click's response URL)."""
    before = len(slack.fake.responses)
    response = await slack.post(click_body(slack, button, user, message_ts=message_ts, channel=channel), FORM)
    assert response.status == 200
    answers = await slack.fake.responses_count(before + 1)
    return answers[before].params


async def ballots(slack: SlackHarness, vote_id: int) -> dict[str, tuple[str, bool, str | None]]:
    view = await slack.services.votes.status(WORKSPACE, vote_id)
    return {b.voter: (b.value, b.binding, b.comment) for b in view.ballots}


def view_of(call: Call) -> dict[str, Any]:
    raw = call.params["view"]
    return raw if isinstance(raw, dict) else json.loads(raw)


async def test_open_then_click_plus_one_updates_the_message_in_place(
        app_slack: tuple[App, SlackHarness]) -> None:
    _app, slack = app_slack
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=lazy-majority')
    # The electorate is the user group read fresh when the vote opened, plus the config's member.
    assert dict(view.electorate) == {mid(CHAIR): "Alice", mid(MEMBER): "Bob", mid(CAROL): "Carol",
                                     mid(DAN): "Dan", mid(CONFIG_MEMBER): "Erin"}
    assert view.rule == "lazy-majority" and view.channel_id == CHANNEL
    assert "[VOTE] Adopt RFC 12" in texts(message) and "Electorate: 5 holders of PMC" in texts(message)
    buttons = buttons_of(message)
    assert list(buttons) == ["+1", "0", "-1"]
    assert buttons["+1"]["style"] == "primary" and buttons["-1"]["style"] == "danger"

    for count, user in enumerate((MEMBER, CAROL, DAN), start=1):
        answer = await click(slack, buttons["+1"], user)
        assert answer["response_type"] == "ephemeral", texts(answer)
        assert f'Recorded your +1 on #{view.id} "Adopt RFC 12". It is binding' in texts(answer), texts(answer)
        updates = slack.fake.of("chat.update")
        assert len(updates) == count
        assert (updates[-1].params["channel"], updates[-1].params["ts"]) == (CHANNEL, "1646136001.000100")
        assert f"Binding so far: {count} +1, 0 0, 0 -1" in updates[-1].params["text"]
        assert list(buttons_of(updates[-1].params)) == ["+1", "0", "-1"]  # still votable
    assert "If it closed now: 3 binding +1" in slack.fake.of("chat.update")[-1].params["text"]

    answer = await click(slack, buttons["+1"], OUTSIDER)
    assert "It is not binding: only those who held PMC when the vote opened (5)" in texts(answer)
    assert "non-binding: 1 +1, 0 0, 0 -1" in slack.fake.of("chat.update")[-1].params["text"]
    assert await ballots(slack, view.id) == {
        mid(MEMBER): ("+1", True, None), mid(CAROL): ("+1", True, None), mid(DAN): ("+1", True, None),
        mid(OUTSIDER): ("+1", False, None)}


async def test_when_slack_refuses_chat_update_the_click_replaces_the_message_through_its_response_url(
        app_slack: tuple[App, SlackHarness]) -> None:
    """A message posted through a command's response_url may not be editable with chat.update
    (``cant_update_message``). The ballot is recorded all the same: the voter must not be told to try
    again, and the tally is refreshed through the click's response_url instead."""
    _app, slack = app_slack
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=lazy-majority')
    slack.fake.fail_next("chat.update", 200, {"ok": False, "error": "cant_update_message"})
    before = len(slack.fake.responses)
    await slack.post(click_body(slack, buttons_of(message)["+1"], MEMBER, message_ts=VOTE_TS), FORM)
    answers = await slack.fake.responses_count(before + 2)
    replaced, answer = answers[before].params, answers[before + 1].params
    assert replaced["replace_original"] is True and replaced["response_type"] == "in_channel"
    assert "Binding so far: 1 +1, 0 0, 0 -1" in texts(replaced)
    assert answer["replace_original"] is False and "Recorded your +1" in texts(answer), texts(answer)
    assert answers[before].method == answers[before + 1].method  # both on the click's response URL
    assert await ballots(slack, view.id) == {mid(MEMBER): ("+1", True, None)}


async def test_a_consensus_veto_asks_for_its_reason_in_a_modal(app_slack: tuple[App, SlackHarness]) -> None:
    _app, slack = app_slack
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=consensus')
    veto = buttons_of(message)["-1"]
    opened = len(slack.fake.responses)
    response = await slack.post(click_body(slack, veto, MEMBER, message_ts=VOTE_TS), FORM)
    assert response.status == 200
    await slack.fake.wait_for(lambda: len(slack.fake.of("views.open")) == 1)
    modal = view_of(slack.fake.of("views.open")[0])
    assert modal["blocks"][0]["label"]["text"] == "Reason for your veto"
    assert len(slack.fake.responses) == opened and await ballots(slack, view.id) == {}  # nothing ran yet

    blank = view_submission_body(team=TEAM, user=MEMBER, user_name="bob", private_metadata=modal["private_metadata"],
                                 text="  \n\t ", trigger_id="13345224609.blank.abc")
    assert (await slack.post(blank, FORM)).status == 200
    refused = (await slack.fake.responses_count(opened + 1))[opened].params
    assert refused["response_type"] == "ephemeral"
    assert "Under consensus a -1 is a veto and needs a reason" in texts(refused), texts(refused)
    assert await ballots(slack, view.id) == {}
    assert slack.fake.of("chat.update") == []

    reason = view_submission_body(team=TEAM, user=MEMBER, user_name="bob",
                                  private_metadata=modal["private_metadata"],
                                  text='It breaks the "public" API', trigger_id="13345224609.veto.abc")
    assert (await slack.post(reason, FORM)).status == 200
    answer = (await slack.fake.responses_count(opened + 2))[opened + 1].params
    assert "Recorded your -1" in texts(answer) and "It is binding" in texts(answer), texts(answer)
    assert await ballots(slack, view.id) == {mid(MEMBER): ("-1", True, "It breaks the 'public' API")}
    update = slack.fake.of("chat.update")[-1].params
    assert (update["channel"], update["ts"]) == (CHANNEL, "1646136001.000100")
    assert "Binding so far: 0 +1, 0 0, 1 -1" in update["text"] and "It breaks the 'public' API" in update["text"]


async def test_a_retried_click_records_nothing_twice(app_slack: tuple[App, SlackHarness]) -> None:
    _app, slack = app_slack
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=lazy-majority')
    body = click_body(slack, buttons_of(message)["+1"], MEMBER, message_ts=VOTE_TS)
    assert (await slack.post(body, FORM)).status == 200
    retry = await slack.post(body, FORM, extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200 and await retry.text() == ""
    await slack.fake.responses_count(1)  # the click's answer (the vote's message was posted, not answered)
    # A later click by someone else is served: the retry was dropped, not everything after it.
    await click(slack, buttons_of(message)["0"], CAROL)
    assert len(slack.fake.responses) == 2 and len(slack.fake.of("chat.update")) == 2
    assert "Binding so far: 1 +1, 1 0, 0 -1" in slack.fake.of("chat.update")[-1].params["text"]
    status = await slack.services.votes.status(WORKSPACE, view.id)
    assert [(b.voter, b.value) for b in status.ballots] == [(mid(MEMBER), "+1"), (mid(CAROL), "0")]
    exported = (await slack.services.vote_audit.export([WORKSPACE]))[0]
    assert [e["kind"] for e in exported["events"]] == ["open", "ballot", "ballot"]


async def test_a_chair_force_closes_in_channel(app_slack: tuple[App, SlackHarness]) -> None:
    app, slack = app_slack
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=lazy-majority')
    for user in (MEMBER, CAROL, DAN):
        await click(slack, buttons_of(message)["+1"], user)
    result = await slack.command("/vote", f"close #{view.id} force=yes", user=CHAIR)
    assert result["response_type"] == "in_channel"
    shown = texts(result)
    assert "[RESULT][VOTE] Adopt RFC 12" in shown and "Outcome: PASSED" in shown
    assert "early by Alice with force=yes" in shown and "Did not vote (2 of the electorate): Alice, Erin." in shown
    await app.reminders_tick()
    # Answered in the vote's own channel: not posted a second time there (the one post is the vote's).
    assert len(slack.fake.of("chat.postMessage")) == 1
    # The vote's message itself becomes the result, without buttons.
    closing = slack.fake.of("chat.update")[-1].params
    assert (closing["channel"], closing["ts"]) == (CHANNEL, VOTE_TS)
    assert str(closing["text"]).startswith("[RESULT][VOTE] Adopt RFC 12") and buttons_of(closing) == {}
    # A click on the old vote message afterwards is refused and changes nothing, and the message is
    # redrawn as the result again.
    updates = len(slack.fake.of("chat.update"))
    late = await click(slack, buttons_of(message)["-1"], CHAIR)
    assert late["response_type"] == "ephemeral" and f"Vote #{view.id} is closed" in texts(late), texts(late)
    assert len(slack.fake.of("chat.update")) == updates + 1
    redrawn = slack.fake.of("chat.update")[-1].params
    assert str(redrawn["text"]).startswith("[RESULT][VOTE]")
    blocks = redrawn["blocks"] if isinstance(redrawn["blocks"], list) else json.loads(redrawn["blocks"])
    assert not [b for b in blocks if b.get("type") == "actions"], "the redrawn result has no buttons"
    assert mid(CHAIR) not in await ballots(slack, view.id)


async def test_the_deadline_posts_the_result_once_and_the_reminder_reaches_who_has_not_voted(
        app_slack: tuple[App, SlackHarness], clock: ManualClock) -> None:
    app, slack = app_slack
    opened_at = clock.now()
    view, message = await open_vote(slack, 'open "Adopt RFC 12" rule=lazy-majority')
    for user in (MEMBER, CAROL, DAN):
        await click(slack, buttons_of(message)["+1"], user)
    await app.reminders_tick()
    assert slack.fake.of("conversations.open") == [] and len(slack.fake.of("chat.postMessage")) == 1  # the vote

    slack.fake.closed_dms.add(CONFIG_MEMBER)
    clock.set(opened_at + timedelta(hours=48))  # 24 h before the close
    await app.reminders_tick()
    # Alice (the chair) and Erin (listed in the config) have not voted; Bob, Carol and Dan have.
    assert sorted(c.params["users"] for c in slack.fake.of("conversations.open")) == [CHAIR, CONFIG_MEMBER]
    await app.reminders_tick()  # the fallback post the refused DM became is sent
    reminders = slack.fake.of("chat.postMessage")[1:]
    assert sorted(c.params["channel"] for c in reminders) == [CHANNEL, "D0CHAIR1"]
    # Erin's DMs are closed: she is mentioned (a real Slack mention, which notifies her) in the vote's channel.
    fallback = next(c.params for c in reminders if c.params["channel"] == CHANNEL)
    assert f"\n<@{CONFIG_MEMBER}>: (your direct messages are closed" in fallback["text"], fallback["text"]
    assert f"<@{CONFIG_MEMBER}>: (your direct messages are closed" in texts({"blocks": fallback["blocks"]})
    assert f"Reminder: vote #{view.id}" in fallback["text"]
    to_alice = next(c.params for c in reminders if c.params["channel"] == "D0CHAIR1")
    assert f'Reminder: vote #{view.id} "Adopt RFC 12" closes Fri 2022-03-04 12:00 UTC your time' in to_alice["text"]
    assert list(buttons_of(to_alice)) == ["+1", "0", "-1"]
    # The reminder's button works from the DM like the channel's.
    answer = await click(slack, buttons_of(to_alice)["0"], CHAIR, channel="D0CHAIR1",
                         message_ts="1646136010.000100")
    assert f'Recorded your 0 on #{view.id}' in texts(answer), texts(answer)

    clock.set(opened_at + timedelta(hours=72))
    posts_before = len(slack.fake.of("chat.postMessage"))
    await app.reminders_tick()
    await app.reminders_tick()  # a second tick (or replica) posts nothing more
    results = slack.fake.of("chat.postMessage")[posts_before:]
    assert len(results) == 1, [c.params["text"][:80] for c in results]
    posted = results[0].params
    assert posted["channel"] == CHANNEL
    assert "[RESULT][VOTE] Adopt RFC 12" in texts(posted) and "at its deadline" in posted["text"]
    assert "Binding (PMC, electorate of 5): 3 +1, 1 0, 0 -1" in posted["text"]
    assert "Outcome: PASSED" in posted["text"] and "Did not vote (1 of the electorate): Erin." in posted["text"]
    assert buttons_of(posted) == {}  # a result has nothing left to click
    redrawn = slack.fake.of("chat.update")[-1].params  # and the vote's message says so too
    assert (redrawn["channel"], redrawn["ts"]) == (CHANNEL, VOTE_TS) and buttons_of(redrawn) == {}
    assert "Outcome: PASSED" in redrawn["text"]
    closed = await slack.services.votes.status(WORKSPACE, view.id)
    assert (closed.status, closed.outcome, closed.closed_at) == ("closed", "passed", view.closes_at)
    # Nothing more later either.
    clock.advance(timedelta(hours=1))
    await app.reminders_tick()
    assert len(slack.fake.of("chat.postMessage")) == posts_before + 1


async def test_where_the_bot_cannot_post_the_vote_comes_on_the_response_url(
        app_slack: tuple[App, SlackHarness]) -> None:
    """A private channel the bot was not invited to: Slack refuses chat.postMessage, so the vote's message
    comes through the command's response URL, as Slack allows there. Nothing is recorded to redraw: the
    first click after the close does it (as the refused-click tests show)."""
    _app, slack = app_slack
    slack.fake.fail_next("chat.postMessage", 200, {"ok": False, "error": "not_in_channel"})
    answer = await slack.command("/vote", 'open "Adopt RFC 12" rule=lazy-majority', user=CHAIR)
    assert answer["response_type"] == "in_channel" and "[VOTE] Adopt RFC 12" in texts(answer)
    assert list(buttons_of(answer)) == ["+1", "0", "-1"]
    [vote] = await slack.services.votes.list_votes(WORKSPACE, "open")
    async with slack.services.db.read() as session:
        assert await votes_q.messages_of(session, vote.id) == []
