"""Slack retries a request it got no quick answer to: every request's trigger or event id is claimed
in the database first, so a retry never repeats a side effect.

Events are claimed here, in a bolt middleware. Commands, button clicks and modal submissions are
acknowledged before they run, so their listeners claim them (``SlackRunner.handling``): together with
the payload, so one a crash or a stop interrupted is run again after the lease."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_bolt.response import BoltResponse

log = logging.getLogger("quorum.slack")

Middleware = Callable[[dict[str, Any], Callable[[], Awaitable[BoltResponse]]], Awaitable[BoltResponse]]


class RequestLog(Protocol):
    async def first_time(self, key: str) -> bool:
        """Claim ``key``; False when it was claimed before."""
        ...

    async def accept(self, key: str, payload: str) -> bool:
        """Claim ``key`` keeping ``payload`` until ``finished``; False when it was claimed before."""
        ...

    async def finished(self, key: str) -> None:
        ...


def request_key(body: dict[str, Any]) -> str | None:
    """The id Slack keeps across retries of one request: ``event_id`` for events, ``trigger_id`` for
    commands and interactions."""
    team = (body.get("team_id") or (body.get("team") or {}).get("id")
            or (body.get("user") or {}).get("team_id") or "-")
    if body.get("event_id"):
        return f"slack:{team}:event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"slack:{team}:trigger:{body['trigger_id']}"
    return None


def run_once(requests: RequestLog) -> Middleware:
    async def once(body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        """Run a request only the first time its key is seen. A retry gets an empty 200 (a fresh
        response: at this point bolt has none to pass on)."""
        key = request_key(body)
        if key is None or not body.get("event_id"):
            return await next()  # a command or an interaction: its listener claims it
        if not await requests.first_time(key):
            log.info("Ignored a repeat of Slack request %s (already handled)", key)
            return BoltResponse(status=200, body="")
        return await next()

    return once
