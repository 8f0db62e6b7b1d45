"""Buttons, prompts (modals) and live refreshes, through signed interaction payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from bot.adapters.slack.render import button_element
from bot.clock import ManualClock
from bot.commands.dispatcher import CommandContext, Dispatcher
from bot.commands.registry import REGISTRY, Command, Registry
from bot.config import Settings
from bot.contracts.reply import Button, Reply
from bot.services import Services
from tests.adapters.slack.conftest import MEMBER, TEAM, SlackHarness, make_harness, texts
from tests.adapters.slack.fake_slack import FakeSlack, block_actions_body, view_submission_body

FORM = "application/x-www-form-urlencoded"


async def click(slack: SlackHarness, button: Button, user: str = MEMBER, *, ephemeral: bool = False) -> None:
    element = button_element(button)
    number = slack.next_id()
    body = block_actions_body(team=TEAM, user=user, user_name=slack.fake.users[user]["name"],
                              action_id=element["action_id"], value=element["value"],
                              response_url=slack.fake.url(f"/respond/{number}"), trigger_id=f"trig.{number}",
                              ephemeral=ephemeral)
    response = await slack.post(body, FORM)
    assert response.status == 200


async def test_a_button_runs_its_action_as_the_member_who_clicks(slack: SlackHarness) -> None:
    await click(slack, Button("Use Berlin time", "me tz Europe/Berlin", "tz-berlin"))
    answer = (await slack.fake.responses_count(1))[0].params
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "Your time zone is now Europe/Berlin" in texts(answer)
    member = await slack.services.members.get(f"slack:{TEAM}", f"slack:{TEAM}:{MEMBER}")
    assert member is not None and member.timezone == "Europe/Berlin"


async def test_a_button_with_a_prompt_opens_a_modal_then_runs_with_the_text_quoted(slack: SlackHarness) -> None:
    await click(slack, Button("Explain a command", "quorum help", "help-prompt", prompt="Which command?"))
    await slack.fake.wait_for(lambda: len(slack.fake.of("views.open")) == 1)
    opened = slack.fake.of("views.open")[0].params
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    assert opened["trigger_id"].startswith("trig.")
    assert view["blocks"][0]["label"]["text"] == "Which command?"
    assert slack.fake.responses == []  # nothing ran yet
    body = view_submission_body(team=TEAM, user=MEMBER, user_name="bob", private_metadata=view["private_metadata"],
                                text="agenda  add", trigger_id="trig.submit")
    assert (await slack.post(body, FORM)).status == 200
    answer = (await slack.fake.responses_count(1))[0].params
    assert "/agenda add" in texts(answer) and "Only chairs" not in texts(answer), texts(answer)
    # Quotes typed into the modal cannot break out of the one quoted word the text becomes.
    tricky = view_submission_body(team=TEAM, user=MEMBER, user_name="bob", private_metadata=view["private_metadata"],
                                  text='agenda" extra="x', trigger_id="trig.submit2")
    assert (await slack.post(tricky, FORM)).status == 200
    answer = (await slack.fake.responses_count(2))[1].params
    assert "There is no command '/agenda' extra='x'" in texts(answer), texts(answer)


# -- a live message: a test command in the vote group answering with the refresh convention --------
def _tally_registry() -> Registry:
    registry = Registry()
    for command in REGISTRY.all():
        registry.add(command)
    count = {"n": 0}

    async def tally(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
        count["n"] += 1
        fresh = Reply(text=f"Tally: {count['n']} in favour", ephemeral=False,
                      buttons=(Button("+1", "vote tally", "tally-plus", "primary"),))
        return Reply(text="Your ballot is recorded.", refresh=fresh)

    registry.add(Command(("vote", "tally"), "Test tally", (), tally))
    return registry


@pytest.fixture
async def live(services: Services, settings: Settings, clock: ManualClock,
               fake_slack: FakeSlack) -> AsyncIterator[SlackHarness]:
    harness, client = await make_harness(Dispatcher(services, _tally_registry()), services, settings, clock,
                                         fake_slack)
    yield harness
    await client.close()


async def test_refresh_updates_a_channel_message_in_place_with_chat_update(live: SlackHarness) -> None:
    await click(live, Button("+1", "vote tally", "tally-plus"))
    answer = (await live.fake.responses_count(1))[0].params
    assert "Your ballot is recorded." in texts(answer) and answer["response_type"] == "ephemeral"
    updates = live.fake.of("chat.update")
    assert len(updates) == 1
    assert updates[0].params["channel"] == "C2147483705" and updates[0].params["ts"] == "1646136001.000100"
    assert "Tally: 1 in favour" in updates[0].params["text"]
    assert updates[0].params["blocks"][-1]["type"] == "actions"


async def test_refresh_of_an_ephemeral_message_replaces_it_through_the_response_url(live: SlackHarness) -> None:
    await click(live, Button("+1", "vote tally", "tally-plus"), ephemeral=True)
    answers = await live.fake.responses_count(2)
    replaced = [a.params for a in answers if a.params["replace_original"]]
    assert len(replaced) == 1 and "Tally: 1 in favour" in texts(replaced[0])
    assert live.fake.of("chat.update") == []


async def test_a_retried_click_counts_once(live: SlackHarness) -> None:
    element = button_element(Button("+1", "vote tally", "tally-plus"))
    body = block_actions_body(team=TEAM, user=MEMBER, user_name="bob", action_id=element["action_id"],
                              value=element["value"], response_url=live.fake.url("/respond/r1"), trigger_id="t.1")
    assert (await live.post(body, FORM)).status == 200
    assert (await live.post(body, FORM, extra={"X-Slack-Retry-Num": "1"})).status == 200
    await live.fake.responses_count(1)
    await click(live, Button("+1", "vote tally", "tally-plus"))
    await live.fake.wait_for(lambda: len(live.fake.of("chat.update")) == 2)
    assert "Tally: 2 in favour" in live.fake.of("chat.update")[-1].params["text"]
