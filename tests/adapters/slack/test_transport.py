"""Every request is verified against the signing secret and the injected clock; tokens never reach a log."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, TEAM, SlackHarness, texts
from tests.adapters.slack.listeners.test_commands import SERIES

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
