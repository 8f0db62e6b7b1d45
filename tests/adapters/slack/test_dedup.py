"""Retries of a request (Slack resends what it got no quick answer to) never repeat a side effect."""

from __future__ import annotations

from tests.adapters.slack.conftest import CHAIR, MEMBER, TEAM, SlackHarness, texts
from tests.adapters.slack.fake_slack import app_home_opened_body
from tests.adapters.slack.listeners.test_commands import SERIES

FORM = "application/x-www-form-urlencoded"


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


async def test_an_acknowledged_command_is_kept_without_slack_s_token_until_it_has_run(slack: SlackHarness) -> None:
    from sqlalchemy import text

    hold = slack.fake.hold("users.info")
    body = slack.command_body("/meeting", SERIES, trigger="13345224609.1.keep")
    assert (await slack.post(body, FORM)).status == 200
    await slack.fake.wait_for(lambda: len(slack.fake.held) >= 1)  # acknowledged, still running

    async def stored() -> tuple[str, str | None]:
        async with slack.services.db.read() as session:
            row = (await session.execute(text("SELECT state, payload FROM processedrequest WHERE key = :k"),
                                         {"k": f"slack:{TEAM}:trigger:13345224609.1.keep"})).one()
            return str(row[0]), row[1]

    state, payload = await stored()
    assert state == "accepted" and payload is not None
    assert "response_url" in payload and '"token"' not in payload and "gIkuvaNzQIHg97ATvDxqgjtO" not in payload
    hold.set()
    await slack.fake.responses_count(1)
    for _ in range(100):  # the listener marks it done right after answering
        if (await stored())[0] == "done":
            break
    assert await stored() == ("done", None)
