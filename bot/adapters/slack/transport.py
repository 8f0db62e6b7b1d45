"""``POST /slack/events`` on Quorum's own aiohttp server: every request is verified against the signing
secret with the injected clock (5-minute window) before bolt sees it."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from bot.clock import Clock

log = logging.getLogger("quorum.slack")


class _InjectedClock(SlackClock):
    """slack_sdk's verifier asks for seconds since the epoch; ours is the app's (test-movable) clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


class SignedEndpoint:
    """Hands signed requests to bolt (whose own verification is off: it would read the system clock)."""

    def __init__(self, app: AsyncApp, signing_secret: str, clock: Clock) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret, clock=_InjectedClock(clock))

    async def handle(self, request: web.Request) -> web.Response:
        """Commands, interactions and events, all signed by Slack."""
        body = await request.read()
        try:
            valid = self.verifier.is_valid_request(body, dict(request.headers))
        except ValueError:  # a timestamp that is not a number
            valid = False
        if not valid:
            log.warning("Rejected a Slack request with a bad signature or a stale timestamp from %s",
                        request.remote)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "body is not UTF-8"}, status=400)
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers={k.lower(): v for k, v in request.headers.items()})
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))
