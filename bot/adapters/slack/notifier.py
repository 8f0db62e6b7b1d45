"""Delivers outbox messages to Slack: DMs (``conversations.open`` + ``chat.postMessage``), channel
posts and in-place updates (``chat.update``). Slack's answers become the outbox's error kinds: a 429 is
transient with Slack's ``Retry-After``, closed DMs fall back to a channel mention, the rest is final."""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.identity import split_member_id
from bot.adapters.slack.render import message
from bot.contracts.outbound import DeliveryError, DirectMessagesClosed, OutboundMessage
from bot.contracts.reply import Reply

log = logging.getLogger("quorum.slack")

# Errors meaning the member cannot be written to directly; the outbox mentions them in a channel instead.
DM_CLOSED = frozenset({"cannot_dm_bot", "messages_tab_disabled", "user_disabled", "user_not_visible",
                       "cannot_open_dm", "user_not_found", "restricted_action"})
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
                       "team_added_to_org"})
_CHANNEL_MENTION = re.compile(r"^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$")


def channel_id(target: str) -> str:
    """A channel as a chair may have typed it: ``<#C123|general>`` (escaped mention), ``#general`` or ``C123``."""
    found = _CHANNEL_MENTION.match(target.strip())
    if found:
        return found.group(1)
    return target.strip().lstrip("#")


def message_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_ref(ref: str) -> tuple[str, str]:
    channel, sep, ts = ref.partition(":")
    if not sep or not channel or not ts:
        raise DeliveryError(f"'{ref}' is not a Slack message reference (CHANNEL:TS)", transient=False)
    return channel, ts


def delivery_error(exc: SlackApiError, *, dm: bool) -> DeliveryError:
    response = exc.response
    error = str(response.get("error") or "unknown_error")
    if response.status_code == 429 or error == "ratelimited":
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        try:
            seconds = float(retry_after) if retry_after is not None else None
        except ValueError:
            seconds = None
        return DeliveryError(f"Slack rate limit ({error})", transient=True, retry_after=seconds)
    if dm and error in DM_CLOSED:
        return DirectMessagesClosed(f"Slack refused the direct message ({error})")
    transient = response.status_code >= 500 or error in TRANSIENT
    return DeliveryError(f"Slack answered {error}", transient=transient)


def with_mention(reply: Reply) -> dict[str, Any]:
    """The message, with the member a post is for (``reply.mention``: the outbox's channel post that
    replaces a DM the member could not receive) turned into a Slack mention. The outbox writes the member
    id as plain text; only ``<@U...>`` notifies them, and the renderer escapes user text so it cannot
    write one."""
    body = message(reply)
    member = reply.mention
    parts = split_member_id(member) if isinstance(member, str) else None
    if member is None or parts is None:
        return body
    ping = f"<@{parts[1]}>"
    body["text"] = body["text"].replace(member, ping, 1)
    for block in body["blocks"]:
        text = block.get("text") or {}
        if block.get("type") == "section" and text.get("type") == "mrkdwn" and member in text.get("text", ""):
            text["text"] = text["text"].replace(member, ping, 1)
            break
    return body


class SlackNotifier:
    platform = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def send(self, outbound: OutboundMessage) -> str | None:
        body = with_mention(outbound.reply)
        try:
            if outbound.kind == "dm":
                parts = split_member_id(outbound.target)
                if parts is None:
                    raise DeliveryError(f"{outbound.target} is not a Slack member", transient=False)
                opened = await self.client.conversations_open(users=parts[1])
                dm_channel = str((opened.get("channel") or {}).get("id"))
                posted = await self.client.chat_postMessage(channel=dm_channel, **body)
                return message_ref(dm_channel, str(posted["ts"]))
            if outbound.kind == "channel":
                posted = await self.client.chat_postMessage(channel=channel_id(outbound.target), **body)
                return message_ref(str(posted["channel"]), str(posted["ts"]))
            if outbound.kind == "update":
                channel, ts = split_ref(outbound.target)
                updated = await self.client.chat_update(channel=channel, ts=ts, **body)
                return message_ref(str(updated.get("channel") or channel), str(updated.get("ts") or ts))
        except SlackApiError as exc:
            error = delivery_error(exc, dm=outbound.kind == "dm")
            log.warning("Slack delivery of outbox message %s (%s) failed: %s", outbound.id, outbound.kind, error)
            raise error from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(f"cannot reach Slack ({type(exc).__name__})", transient=True) from exc
        raise DeliveryError(f"unknown message kind '{outbound.kind}'", transient=False)
