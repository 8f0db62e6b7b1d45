"""Running command text for a Slack user: who they are (name, zone, user-group roles) and the
dispatcher's answer, and sending an answer to a request's response URL."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.dedup import RequestLog, request_key
from bot.adapters.slack.identity import SlackDirectory, member_id, mention_resolver, workspace_id
from bot.adapters.slack.render import message
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.services.requests import RUN_LIMIT

log = logging.getLogger("quorum.slack")

APOLOGY = "Sorry, something went wrong on our side (error logged). Please try again in a moment."
# In a replayed request's bolt context: the request was accepted (and claimed) before an interruption.
REPLAY = "quorum_replay"


class SlackRunner:
    def __init__(self, dispatcher: Dispatcher, settings: Settings, directory: SlackDirectory,
                 requests: RequestLog) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        self.directory = directory
        self.requests = requests
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def handling(self, body: dict[str, Any], context: Mapping[str, Any]) -> AsyncIterator[bool]:
        """Around a listener that acknowledges before it runs: enter before ``ack()``. Claims the request
        with its payload (yields False for a retry of one already claimed: acknowledge and do nothing),
        counts it as running until the block ends (``drain`` waits for it), and then marks it done. If the
        block is cancelled (the process is stopping) it stays accepted, to be run again after the lease."""
        key = request_key(body)
        # Slack's legacy verification token is a secret the replay does not need: never stored.
        kept = {name: value for name, value in body.items() if name != "token"}
        if key is not None and not context.get(REPLAY) and not await self.requests.accept(key, json.dumps(kept)):
            log.info("Ignored a repeat of Slack request %s (already handled)", key)
            yield False
            return
        self._running += 1
        self._idle.clear()
        try:
            # Never past the lease: a request still running then would be run again by another replica.
            async with asyncio.timeout(RUN_LIMIT.total_seconds()):
                yield True
        except asyncio.CancelledError:
            raise  # interrupted: left accepted
        except BaseException:
            if key is not None:
                await self.requests.finished(key)  # a bug, answered with an apology: running it again would not help
            raise
        else:
            if key is not None:
                await self.requests.finished(key)
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def drain(self, grace: timedelta) -> int:
        """Wait (up to ``grace``) for the requests being run to finish; return how many are left unfinished
        (they stay accepted and run again after a restart)."""
        if self._running:
            try:
                async with asyncio.timeout(grace.total_seconds()):
                    await self._idle.wait()
            except TimeoutError:
                pass
        return self._running

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
