"""Every request is verified, retries never repeat a side effect, tokens never reach a log."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.adapters.slack.conftest import BOT_TOKEN, CHAIR, MEMBER, SIGNING_SECRET, TEAM, SlackHarness, texts
from tests.adapters.slack.fake_slack import app_home_opened_body
from tests.adapters.slack.test_commands import SERIES

FORM = "application/x-www-form-urlencoded"


async def _nothing_happened(slack: SlackHarness) -> None:
    assert slack.fake.responses == []
    assert slack.fake.calls == []  # not even users.info: nothing ran
    assert await slack.services.meetings.list_series(f"slack:{TEAM}") == []


async def test_forged_signature_is_refused_with_401_and_nothing_done(slack: SlackHarness) -> None:
    body = slack.command_body("/meeting", SERIES)
    response = await slack.post(body, FORM, secret="not-the-signing-secret")
    assert response.status == 401
    await _nothing_happened(slack)


async def test_tampered_body_is_refused(slack: SlackHarness) -> None:
    body = slack.command_body("/meeting", SERIES)
    signed_for = slack.command_body("/meeting", "next")
    from tests.adapters.slack.fake_slack import sign

    headers = {"Content-Type": FORM, **sign(signed_for, int(slack.clock.now().timestamp()), SIGNING_SECRET)}
    response = await slack.client.post("/slack/events", data=body.encode(), headers=headers)
    assert response.status == 401
    await _nothing_happened(slack)


async def test_missing_or_garbled_signature_headers_are_refused(slack: SlackHarness) -> None:
    body = slack.command_body("/meeting", SERIES)
    bare = await slack.client.post("/slack/events", data=body.encode(), headers={"Content-Type": FORM})
    assert bare.status == 401
    garbled = await slack.client.post("/slack/events", data=body.encode(), headers={
        "Content-Type": FORM, "X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"})
    assert garbled.status == 401
    await _nothing_happened(slack)


async def test_stale_timestamp_is_refused_even_when_correctly_signed(slack: SlackHarness) -> None:
    body = slack.command_body("/meeting", SERIES)
    six_minutes_ago = int((slack.clock.now() - timedelta(minutes=6)).timestamp())
    response = await slack.post(body, FORM, timestamp=six_minutes_ago)
    assert response.status == 401
    await _nothing_happened(slack)
    # Four minutes of clock skew is inside Slack's window.
    four_minutes_ago = int((slack.clock.now() - timedelta(minutes=4)).timestamp())
    accepted = await slack.post(slack.command_body("/meeting", SERIES), FORM, timestamp=four_minutes_ago)
    assert accepted.status == 200
    # The command runs after the ack: wait for its answer, so it does not outlive the test (it used to,
    # and its database connection was left for the garbage collector).
    [answer] = await slack.fake.responses_count(1)
    assert "Created series" in texts(answer.params), texts(answer.params)


async def test_a_retried_command_runs_once(slack: SlackHarness) -> None:
    body = slack.command_body("/meeting", SERIES, trigger="13345224609.738474920.8088930838d88f008e0")
    first = await slack.post(body, FORM)
    assert first.status == 200
    retry = await slack.post(body, FORM, extra={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status == 200 and await retry.text() == ""
    answers = await slack.fake.responses_count(1)
    assert "Created series community" in texts(answers[0].params)
    # A later, different request is still served: retries are de-duplicated, not all dropped.
    listed = await slack.command("/meeting", "series list")
    assert "community" in texts(listed)
    assert len(slack.fake.responses) == 2
    assert len(await slack.services.meetings.list_series(f"slack:{TEAM}")) == 1


async def test_a_retried_event_is_handled_once(slack: SlackHarness) -> None:
    body = app_home_opened_body(team=TEAM, user=CHAIR, event_id="Ev0PV52K21")
    assert (await slack.post(body, "application/json")).status == 200
    retry = await slack.post(body, "application/json", extra={"X-Slack-Retry-Num": "2"})
    assert retry.status == 200
    await slack.fake.wait_for(lambda: len(slack.fake.of("views.publish")) == 1)
    other = app_home_opened_body(team=TEAM, user=MEMBER, event_id="Ev0PV52K22")
    assert (await slack.post(other, "application/json")).status == 200
    await slack.fake.wait_for(lambda: any(c.params["user_id"] == MEMBER for c in slack.fake.of("views.publish")))
    assert [c.params["user_id"] for c in slack.fake.of("views.publish")] == [CHAIR, MEMBER]


async def test_url_verification_challenge_is_answered(slack: SlackHarness) -> None:
    body = '{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}'  # noqa: E501
    response = await slack.post(body, "application/json")
    assert response.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await response.text()


async def test_tokens_never_reach_the_logs(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await slack.command("/meeting", SERIES)
    await slack.command("/meeting", "next")
    assert slack.fake.of("users.info")[0].headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    logged = caplog.text + repr(slack.services.settings)
    assert BOT_TOKEN not in logged and SIGNING_SECRET not in logged
    assert "users.info" in caplog.text  # the web client did log its calls, redacted
