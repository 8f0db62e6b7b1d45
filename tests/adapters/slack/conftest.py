"""A running Quorum web server with the Slack adapter mounted, talking to a fake Slack."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack import SlackAdapter
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import RoleConfig, Secrets, Settings
from bot.services import Services
from bot.web.routes import build_web_app, ready
from tests.adapters.slack.fake_slack import FakeSlack, sign, slash_command_body

TEAM = "T0001"
BOT_TOKEN = "xoxb-1234-secret-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APP_TOKEN = "xapp-1-secret-app-token"
CHAIR = "U0CHAIR1"
MEMBER = "U0MEMBR1"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(TEAM)
    await fake.start()
    fake.add_user(CHAIR, "Alice", "America/Los_Angeles")
    fake.add_user(MEMBER, "Bob", "Europe/Berlin")
    fake.add_group("tvm-pmc", "S0PMC", CHAIR)
    yield fake
    await fake.close()


@pytest.fixture
def settings(fake_slack: FakeSlack) -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        roles={"PMC": RoleConfig("PMC", members=(f"slack:{TEAM}:U0CONFIG",), slack_usergroup="tvm-pmc")},
        chair_roles=("PMC",), binding_role="PMC", default_display_zones=("UTC",),
        secrets=Secrets(slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET),
        slack_api_url=fake_slack.url("/api/"),
    )


@dataclass
class SlackHarness:
    adapter: SlackAdapter
    client: TestClient[Any, Any]
    fake: FakeSlack
    clock: ManualClock
    services: Services

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return str(next(self._ids))

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET, extra: dict[str, str] | None = None) -> ClientResponse:
        when = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        headers = {"Content-Type": content_type, **sign(body, when, secret), **(extra or {})}
        return await self.client.post("/slack/events", data=body.encode(), headers=headers)

    def command_body(self, command: str, text: str, user: str = CHAIR, *, trigger: str | None = None) -> str:
        number = self.next_id()
        return slash_command_body(
            command, text, team=TEAM, user=user, user_name=self.fake.users[user]["name"],
            response_url=self.fake.url(f"/respond/{number}"), trigger_id=trigger or f"13345224609.{number}.abc",
        )

    async def command(self, command: str, text: str, user: str = CHAIR) -> dict[str, Any]:
        """Send a slash command; return the answer posted to its response URL."""
        body = self.command_body(command, text, user)
        before = len(self.fake.responses)
        response = await self.post(body, "application/x-www-form-urlencoded")
        assert response.status == 200, await response.text()
        responses = await self.fake.responses_count(before + 1)
        return responses[before].params

    async def command_posting(self, command: str, text: str, user: str = CHAIR) -> dict[str, Any]:
        """Send a slash command whose answer the bot posts in the channel itself (a vote's message);
        return that ``chat.postMessage`` call's parameters."""
        before = len(self.fake.of("chat.postMessage"))
        response = await self.post(self.command_body(command, text, user), "application/x-www-form-urlencoded")
        assert response.status == 200, await response.text()
        await self.fake.wait_for(lambda: len(self.fake.of("chat.postMessage")) > before)
        return self.fake.of("chat.postMessage")[before].params


def texts(answer: dict[str, Any]) -> str:
    """Every text in a Block Kit message, joined."""
    parts = [answer.get("text", "")]
    for block in answer.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []) + block.get("fields", []):
            if isinstance(element.get("text"), str):
                parts.append(element["text"])
    return "\n".join(parts)


async def make_harness(dispatcher: Dispatcher, services: Services, settings: Settings, clock: ManualClock,
                       fake: FakeSlack) -> tuple[SlackHarness, TestClient[Any, Any]]:
    adapter = SlackAdapter(dispatcher, settings)
    app = build_web_app(slack_http=True)  # as quorum run builds it in Slack's HTTP mode
    ready(app, services, adapter.handle_http)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return SlackHarness(adapter, client, fake, clock, services), client


@pytest.fixture
async def slack(dispatcher: Dispatcher, services: Services, settings: Settings, clock: ManualClock,
                fake_slack: FakeSlack) -> AsyncIterator[SlackHarness]:
    harness, client = await make_harness(dispatcher, services, settings, clock, fake_slack)
    yield harness
    await client.close()
