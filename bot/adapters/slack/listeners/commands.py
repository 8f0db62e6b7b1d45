"""Slash commands (``/meeting``, ``/vote``, ...): one per command group, run as the member who typed it."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.live_vote import VoteMessages, live_vote_id, remember_live_vote
from bot.adapters.slack.identity import workspace_id
from bot.adapters.slack.notifier import message_ref
from bot.adapters.slack.render import message
from bot.adapters.slack.runner import APOLOGY, SlackRunner, send_response
from bot.commands.registry import GROUPS
from bot.contracts.reply import Reply

log = logging.getLogger("quorum.slack")


def register(app: AsyncApp, runner: SlackRunner, votes: VoteMessages) -> None:
    async def on_command(ack: Callable[..., Awaitable[None]], command: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        # Recorded, then acknowledged (Slack waits 3 s); the answer follows on the response_url.
        async with runner.handling(command, context) as first:
            await ack()
            if first:
                await answer(command, client)

    async def answer(command: dict[str, Any], client: AsyncWebClient) -> None:
        team = str(command.get("team_id", ""))
        try:
            actor = await runner.actor(team, str(command["user_id"]), str(command.get("user_name", "")),
                                       command.get("channel_id"))
            text = f"{str(command['command']).lstrip('/')} {command.get('text') or ''}".strip()
            reply = await runner.run(text, actor, team)
        except Exception:
            log.exception("Slack command %s failed", command.get("command"))
            reply = Reply.error(APOLOGY)
        vote_id = live_vote_id(reply)
        channel = command.get("channel_id")
        if vote_id is not None and channel and await post_vote_message(client, votes, team, vote_id, str(channel),
                                                                        reply):
            return
        await send_response(command.get("response_url"), reply)

    for group in GROUPS:
        app.command(f"/{group}")(on_command)


async def post_vote_message(client: AsyncWebClient, votes: VoteMessages, team: str, vote_id: int, channel: str,
                            reply: Reply) -> bool:
    """A vote's live message goes to the channel with ``chat.postMessage`` rather than the command's
    response URL: Slack lets the bot edit only what it posted itself, and the vote's close redraws
    this message as the result (it is recorded for that). False, with nothing posted, when Slack
    refuses (a private channel or a conversation the bot is not in): the response URL carries it."""
    try:
        posted = await client.chat_postMessage(channel=channel, **message(reply))
    except SlackApiError as exc:
        log.info("posting vote #%s in %s failed (%s); answering on the response URL instead",
                 vote_id, channel, exc.response.get("error"))
        return False

    async def posted_ref() -> str:
        return message_ref(str(posted["channel"]), str(posted["ts"]))

    await remember_live_vote(votes, workspace_id(team), vote_id, posted_ref)
    return True
