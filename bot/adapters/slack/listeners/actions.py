"""Button clicks: the button's action runs as the member who clicked, or, for a button that asks for
text first, a modal opens (its submission is in ``views``). A reply that carries a refresh replaces
the message the button was on."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.render import ACTION_PREFIX, message, parse_button_value, prompt_modal
from bot.adapters.slack.runner import APOLOGY, SlackRunner, send_response
from bot.contracts.reply import Reply

log = logging.getLogger("quorum.slack")


def register(app: AsyncApp, runner: SlackRunner) -> None:
    async def on_action(ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any],
                        client: AsyncWebClient, context: dict[str, Any]) -> None:
        async with runner.handling(body, context) as first:
            await ack()
            if first:
                await clicked(body, action, client)

    async def clicked(body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        action_text, prompt = parse_button_value(str(action.get("value", "")))
        container = body.get("container") or {}
        # Where the button was, kept in the modal's metadata when the action waits for text.
        where = {
            "c": (body.get("channel") or {}).get("id") or container.get("channel_id"),
            "ts": container.get("message_ts") or (body.get("message") or {}).get("ts"),
            "e": bool(container.get("is_ephemeral")),
            "r": body.get("response_url"),
        }
        if prompt:
            await client.views_open(trigger_id=body["trigger_id"],
                                    view=prompt_modal(prompt, {"a": action_text, **where}))
            return
        user = body.get("user") or {}
        await run_action(runner, client, team_of(body), str(user.get("id")), str(user.get("username", "")),
                         action_text, where)

    app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(on_action)


def team_of(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
               or (body.get("view") or {}).get("team_id") or "")


async def run_action(runner: SlackRunner, client: AsyncWebClient, team: str, user_id: str, name: str,
                     action_text: str, where: dict[str, Any]) -> None:
    channel, ts, response_url = where.get("c"), where.get("ts"), where.get("r")
    try:
        actor = await runner.actor(team, user_id, name, channel)
        reply = await runner.run(action_text, actor, team)
    except Exception:
        log.exception("Slack button action failed")
        reply = Reply.error(APOLOGY)
    if reply.refresh is not None:
        # After the action ran (a refused click on a closed vote redraws it as its result too): a
        # refresh Slack refuses must not turn "your ballot is recorded" into "something went wrong".
        await _replace(client, reply.refresh, channel, ts, bool(where.get("e")), response_url)
    if response_url:
        await send_response(response_url, reply)
    elif channel:
        if reply.ephemeral:
            await client.chat_postEphemeral(channel=channel, user=user_id, **message(reply))
        else:
            await client.chat_postMessage(channel=channel, **message(reply))


async def _replace(client: AsyncWebClient, fresh: Reply, channel: str | None, ts: str | None, ephemeral: bool,
                   response_url: str | None) -> None:
    """Replace the message the clicked button was on (a vote's live tally): with ``chat.update`` when it
    is a channel message, else, or when Slack refuses the update, through the click's response URL.

    Slack may refuse ``chat.update`` on a message that was posted through a command's response URL
    (``cant_update_message``; a vote message is posted that way where the bot cannot post itself),
    while the response URL of a click on that message can still replace it. A refresh that fails both
    ways is logged and dropped: the action itself is done, and the next click or ``/vote status``
    shows the current state."""
    if channel and ts and not ephemeral:
        try:
            await client.chat_update(channel=channel, ts=ts, **message(fresh))
            return
        except SlackApiError as exc:
            log.warning("Slack refused chat.update of %s:%s (%s); replacing it through the response URL",
                        channel, ts, exc.response.get("error"))
    if not response_url:
        return
    try:
        await send_response(response_url, fresh, replace=True)
    except Exception:
        log.exception("Could not refresh the Slack message the button was on")
