"""The Slack adapter: a slack-bolt ``AsyncApp`` that turns slash commands, button clicks, modal
submissions and App Home visits into command runs, and their ``Reply`` into Block Kit.

HTTP mode serves ``POST /slack/events`` on Quorum's own aiohttp server (``transport``); Socket Mode
(when an app token is set) feeds the same ``AsyncApp`` from Slack's websocket. Every request passes
the de-duplication middleware (``dedup``) before the listeners (``listeners``) see it. Commands and
interactions are recorded before they are acknowledged and marked done once they have run; a stop
drains them, and those a crash interrupted run again from any replica's tick (``replay_interrupted``)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.dedup import run_once
from bot.adapters.slack.identity import SlackDirectory
from bot.adapters.slack.listeners import register_listeners
from bot.adapters.slack.notifier import SlackNotifier
from bot.adapters.slack.runner import REPLAY, SlackRunner
from bot.adapters.slack.transport import SignedEndpoint
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings

log = logging.getLogger("quorum.slack")

DEFAULT_API_URL = "https://slack.com/api/"


def api_base_url(settings: Settings) -> str:
    url = settings.slack_api_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


class SlackAdapter:
    def __init__(self, dispatcher: Dispatcher, settings: Settings) -> None:
        secrets = settings.secrets
        if not (secrets.slack_bot_token and secrets.slack_signing_secret):
            raise ValueError("Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.settings = settings
        self.client = AsyncWebClient(token=secrets.slack_bot_token, base_url=api_base_url(settings),
                                     logger=log.getChild("web"))
        self.directory = SlackDirectory(self.client, settings, self.services.clock)
        self.notifier = SlackNotifier(self.client)
        self.socket_mode: AsyncSocketModeHandler | None = None
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secrets.slack_signing_secret,
            # Verified by SignedEndpoint with the injected clock; Socket Mode needs none (the socket is
            # authenticated by the app token).
            request_verification_enabled=False,
            process_before_response=False,
            logger=log.getChild("bolt"),
        )
        self.endpoint = SignedEndpoint(self.app, secrets.slack_signing_secret, self.services.clock)
        self.app.middleware(run_once(self.services.requests))
        self.runner = SlackRunner(dispatcher, settings, self.directory, self.services.requests)
        register_listeners(self.app, self.runner, self.services.votes)

    async def handle_http(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: commands, interactions and events, all signed by Slack."""
        return await self.endpoint.handle(request)

    async def start_socket_mode(self, app_token: str) -> None:
        self.socket_mode = AsyncSocketModeHandler(self.app, app_token, logger=log.getChild("socket"))
        await self.socket_mode.connect_async()
        log.info("Slack Socket Mode connected")

    async def replay_interrupted(self) -> None:
        """Run again the commands, clicks and submissions that were acknowledged but not finished by a
        process that died or stopped (their lease ran out); a ticker job."""
        for key, payload in await self.services.requests.claim_interrupted():
            log.info("Running Slack request %s again: it was acknowledged but not finished", key)
            await self.app.async_dispatch(AsyncBoltRequest(body=json.loads(payload), mode="socket_mode",
                                                           context={REPLAY: True}))

    async def drain(self, grace: timedelta) -> int:
        """A stop: wait up to ``grace`` for acknowledged requests to finish; returns how many did not."""
        return await self.runner.drain(grace)

    async def connected(self) -> bool:
        """For /health/ready: in Socket Mode, the socket is open and answers pings; in HTTP mode Slack
        connects to us, so there is nothing to hold open."""
        if self.settings.secrets.slack_app_token is None:
            return True
        return self.socket_mode is not None and await self.socket_mode.client.is_connected()

    async def close(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.close_async()
            self.socket_mode = None
