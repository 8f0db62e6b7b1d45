"""Modal submissions: the text a prompted button asked for, appended quoted to its action, which then
runs as the member who clicked (see ``actions``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.listeners.actions import run_action, team_of
from bot.adapters.slack.render import PROMPT_CALLBACK
from bot.adapters.slack.runner import SlackRunner
from bot.adapters.text import with_answer_if_any


def register(app: AsyncApp, runner: SlackRunner) -> None:
    async def on_prompt(ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any],
                        client: AsyncWebClient, context: dict[str, Any]) -> None:
        async with runner.handling(body, context) as first:
            await ack()
            if first:
                await submitted(body, view, client)

    async def submitted(body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        answer = (((view.get("state") or {}).get("values") or {}).get("answer") or {}).get("text") or {}
        text = str(answer.get("value") or "")
        user = body.get("user") or {}
        await run_action(runner, client, team_of(body), str(user.get("id")), str(user.get("username", "")),
                         with_answer_if_any(str(meta.get("a", "")), text), meta)

    app.view(PROMPT_CALLBACK)(on_prompt)
