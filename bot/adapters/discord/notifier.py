"""Outbox delivery on Discord: direct messages, channel posts and edits of earlier posts.

discord.py waits out rate limits itself (per route and globally); a wait longer than the client's
``max_ratelimit_timeout`` comes back as ``DeliveryError(retry_after=...)`` so the outbox retries later
instead of holding a worker."""

from __future__ import annotations

from typing import Any

import discord

from bot.adapters.discord.buttons import build_view
from bot.adapters.discord.render import USER_PINGS, render, render_parts, snowflake_of
from bot.contracts.outbound import DeliveryError, DirectMessagesClosed, OutboundMessage

CANNOT_SEND_TO_USER = 50007  # Discord's code when a member's DMs are closed to the bot


def message_ref(channel_id: int, message_id: int) -> str:
    return f"{channel_id}:{message_id}"


class DiscordNotifier:
    platform = "discord"

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def send(self, message: OutboundMessage) -> str | None:
        try:
            if message.kind == "dm":
                return await self._dm(message)
            if message.kind == "channel":
                return await _post(await self._channel(message.workspace_id, message.target), _send_parts(message))
            if message.kind == "update":
                channel_id, _, message_id = message.target.partition(":")
                if not (channel_id.isdigit() and message_id.isdigit()):
                    raise DeliveryError(f"'{message.target}' is not a Discord message reference", transient=False)
                partial = self.client.get_partial_messageable(int(channel_id)).get_partial_message(int(message_id))
                kwargs = _send_kwargs(message)
                kwargs.pop("allowed_mentions", None)
                await partial.edit(**kwargs)
                return message.target
            raise DeliveryError(f"unknown message kind '{message.kind}'", transient=False)
        except discord.RateLimited as exc:
            raise DeliveryError("rate limited by Discord", retry_after=exc.retry_after) from exc
        except discord.Forbidden as exc:
            if exc.code == CANNOT_SEND_TO_USER:
                raise DirectMessagesClosed() from exc
            raise DeliveryError(f"Discord refused ({exc.code}): the bot lacks a permission there",
                                transient=False) from exc
        except discord.NotFound as exc:
            raise DeliveryError(f"Discord has no such target ({exc.code})", transient=False) from exc
        except discord.DiscordServerError as exc:
            raise DeliveryError(f"Discord server error {exc.status}") from exc
        except discord.HTTPException as exc:
            raise DeliveryError(f"Discord error {exc.status} ({exc.code})", transient=exc.status >= 500) from exc

    async def _dm(self, message: OutboundMessage) -> str:
        user_id = snowflake_of(message.target)
        if user_id is None:
            raise DeliveryError(f"'{message.target}' is not a Discord member", transient=False)
        channel = await self.client.create_dm(discord.Object(id=user_id))
        try:
            return await _post(channel, _send_parts(message))
        except discord.Forbidden as exc:
            if exc.code != CANNOT_SEND_TO_USER or not message.fallback_channel:
                raise
            # DMs closed: mention the member in the fallback channel instead (delivered once either way:
            # without a fallback channel the outbox gets DirectMessagesClosed and decides).
            parts = _send_parts(message)
            notice = f"<@{user_id}> (your direct messages are closed, so here):"
            first = parts[0]
            first["content"] = f"{notice}\n{first['content']}"[:2000] if first.get("content") else notice
            return await _post(await self._channel(message.workspace_id, message.fallback_channel), parts)

    async def _channel(self, workspace: str, target: str) -> discord.abc.Messageable:
        """A channel by id, ``<#id>`` mention, or name in the workspace's guild."""
        raw = target.strip().removeprefix("<#").removesuffix(">").lstrip("#")
        if raw.isdigit():
            return self.client.get_partial_messageable(int(raw))
        guild_id = workspace.removeprefix("discord:")
        found = await self._named(int(guild_id), raw) if guild_id.isdigit() else None
        if found is None:
            raise DeliveryError(f"there is no channel '{target}' in {workspace}: set the series' channel to an "
                                "existing channel", transient=False)
        return found

    async def _named(self, guild_id: int, name: str) -> discord.abc.Messageable | None:
        """The guild's text channel called ``name``: from the cache when this process holds the guild, else
        asked of Discord (a replica delivers any guild's messages, whichever shard holds the guild)."""
        guild = self.client.get_guild(guild_id)
        if guild is not None:
            return discord.utils.get(guild.text_channels, name=name)
        try:
            channels = await (await self.client.fetch_guild(guild_id, with_counts=False)).fetch_channels()
        except discord.NotFound:
            return None
        return next((c for c in channels if isinstance(c, discord.TextChannel) and c.name == name), None)


async def _post(channel: discord.abc.Messageable, parts: list[dict[str, Any]]) -> str:
    """Send the parts in order; the reference is the first message's (where the post begins)."""
    first = await channel.send(**parts[0])
    for part in parts[1:]:
        await channel.send(**part)
    return message_ref(first.channel.id, first.id)


def _send_parts(message: OutboundMessage) -> list[dict[str, Any]]:
    """A post in as many messages as its text needs (published minutes can be long)."""
    parts = render_parts(message.reply, view=build_view(message.reply))
    for part in parts:
        _for_outbox(part)
    return parts


def _send_kwargs(message: OutboundMessage) -> dict[str, Any]:
    """An edit of an earlier message: one message, so a longer text is cut."""
    kwargs = render(message.reply)
    # An edit always sets the buttons (None removes them, e.g. when a vote closes).
    kwargs["view"] = build_view(message.reply)
    return _for_outbox(kwargs)


def _for_outbox(kwargs: dict[str, Any]) -> dict[str, Any]:
    # Announcements and DM fallbacks mention members on purpose; @everyone never.
    kwargs["allowed_mentions"] = USER_PINGS
    if kwargs.get("embed") is None:
        kwargs.pop("embed", None)
    return kwargs
