"""Running command text for a Slack user: who they are (name, zone, user-group roles) and the
dispatcher's answer, and sending an answer to a request's response URL."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.identity import SlackDirectory, member_id, mention_resolver, workspace_id
from bot.adapters.slack.render import message
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply

log = logging.getLogger("quorum.slack")

APOLOGY = "Sorry, something went wrong on our side (error logged). Please try again in a moment."


class SlackRunner:
    def __init__(self, dispatcher: Dispatcher, settings: Settings, directory: SlackDirectory) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        self.directory = directory

    async def actor(self, team: str, user_id: str, fallback_name: str = "", channel: str | None = None) -> Actor:
        user = await self.directory.user(user_id, fallback_name)
        roles = await self.directory.roles_of(user_id)
        return make_actor(self.settings, workspace_id=workspace_id(team), platform="slack",
                          member_id=member_id(team, user_id), display_name=user.display_name,
                          platform_roles=roles, platform_timezone=user.timezone, channel_id=channel)

    async def run(self, text: str, actor: Actor, team: str) -> Reply:
        try:
            return await self.dispatcher.run_text(text, actor, mention_resolver(team))
        except Exception:  # the dispatcher answers its own errors; this guards the adapter's lookups
            log.exception("Slack command failed before it ran")
            return Reply.error(APOLOGY)


def response_body(reply: Reply, *, replace: bool = False) -> dict[str, Any]:
    return {"response_type": "ephemeral" if reply.ephemeral else "in_channel",
            "replace_original": replace, **message(reply)}


async def send_response(url: str | None, reply: Reply, *, replace: bool = False) -> None:
    if not url:
        log.warning("Slack gave no response_url; the reply was dropped: %s", reply.text[:200])
        return
    response = await AsyncWebhookClient(url).send_dict(response_body(reply, replace=replace))
    if response.status_code != 200:
        log.warning("Slack response_url answered %s: %s", response.status_code, response.body[:200])
