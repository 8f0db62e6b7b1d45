"""From the neutral ``Reply`` to Discord messages, and from Discord users to Quorum actors.

Platform translation only: nothing here touches the database."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.adapters.text import split_at_lines
from bot.commands.dispatcher import MentionResolver, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply, labelled
from bot.errors import InvalidInput
from bot.rules.member_text import neutralise

CONTENT_LIMIT = 2000
EMBED_LIMIT = 4096
_MENTION = re.compile(r"^<@!?(\d{5,25})>$")
# Nobody is pinged by accident: user text (agenda titles, reasons) may contain @everyone.
NO_PINGS = discord.AllowedMentions(everyone=False, roles=False, users=False, replied_user=False)
USER_PINGS = discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False)


def member_id(user_id: int) -> str:
    return f"discord:{user_id}"


def workspace_id(guild_id: int) -> str:
    return f"discord:{guild_id}"


def snowflake_of(member: str) -> int | None:
    """The Discord user id of a ``discord:<id>`` member id, else None."""
    prefix, _, rest = member.partition(":")
    return int(rest) if prefix == "discord" and rest.isdigit() else None


def local_times(reply: Reply) -> str:
    """Each reader sees ``<t:UNIX:F>`` in their own zone, next to the display-zone line in the text."""
    if not reply.moments:
        return ""
    label = "Your local time" if len(reply.moments) == 1 else "Your local times"
    return f"{label}: {labelled(reply.moments, reply.moment_labels, lambda m: f'<t:{int(m.timestamp())}:F>')}"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(reply: Reply, *, view: discord.ui.View | None = None) -> dict[str, Any]:
    """Keyword arguments for ``send``/``edit``: short answers as content, long or titled ones as an
    embed (4096 characters instead of 2000), and the reply's buttons as a persistent view. A text
    longer than an embed is cut here; ``render_parts`` sends it whole, as several messages."""
    text = _text_of(reply)
    kwargs: dict[str, Any] = {"allowed_mentions": NO_PINGS}
    if reply.title or reply.fields or len(text) > CONTENT_LIMIT:
        kwargs["content"] = None
        kwargs["embed"] = _embed(reply.title, _truncate(text, EMBED_LIMIT), reply)
    else:
        kwargs["content"] = text
        kwargs["embed"] = None
    if view is not None:
        kwargs["view"] = view
    return kwargs


def render_parts(reply: Reply, *, view: discord.ui.View | None = None) -> list[dict[str, Any]]:
    """Like ``render``, for a post that may be longer than one message (published minutes, a long
    agenda): the text is split at line ends into embeds of at most 4096 characters, the first with the
    title, the last with the fields and the buttons. Nothing is cut."""
    text = _text_of(reply)
    if len(text) <= EMBED_LIMIT:
        return [render(reply, view=view)]
    pieces = split_at_lines(text, EMBED_LIMIT)
    parts: list[dict[str, Any]] = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        title = reply.title if index == 0 else (f"{reply.title} (continued)" if reply.title else None)
        part: dict[str, Any] = {"allowed_mentions": NO_PINGS, "content": None,
                                "embed": _embed(title, piece, reply if last else None)}
        if last and view is not None:
            part["view"] = view
        parts.append(part)
    return parts


def _text_of(reply: Reply) -> str:
    """The text as members may see it (``neutralise``: no pings, no direction overrides), then the
    readers' own times, which are the bot's markup."""
    text = neutralise(reply.text)
    extra = local_times(reply)
    if extra:
        return f"{text}\n{extra}" if text else extra
    return text


def _embed(title: str | None, description: str, with_fields_of: Reply | None) -> discord.Embed:
    embed = discord.Embed(title=_truncate(neutralise(title), 256) if title else None, description=description)
    for item in (with_fields_of.fields[:25] if with_fields_of is not None else ()):
        embed.add_field(name=_truncate(neutralise(item.name), 256), value=_truncate(neutralise(item.value), 1024),
                        inline=False)
    return embed


def mention_resolver(guild: discord.Guild | None) -> MentionResolver:
    """``<@123>`` (what Discord's member options give) names ``discord:123``; ``@name`` a member of the
    guild with that name, as far as the bot can see them."""

    def resolve(raw: str) -> str:
        text = raw.strip()
        found = _MENTION.match(text)
        if found:
            return member_id(int(found.group(1)))
        if text.startswith("discord:") and text[8:].isdigit():
            return text
        name = text.lstrip("@")
        member = guild.get_member_named(name) if guild is not None and name else None
        if member is None:
            raise InvalidInput(f"I can't find the member '{name}': pick them from the member option's list.")
        return member_id(member.id)

    return resolve


def platform_roles(settings: Settings, user: discord.User | discord.Member) -> frozenset[str]:
    """The member's roles as the guild reports them: Discord role names, with each configured role
    whose ``discord_role`` (a role name or id) the member holds. A Discord role that happens to share
    a configured role's name only counts when that role names no ``discord_role`` of its own."""
    if not isinstance(user, discord.Member):
        return frozenset()
    held = [role for role in user.roles if not role.is_default()]
    ids = {str(role.id) for role in held}
    names = {role.name for role in held}
    mapped = {name for name, config in settings.roles.items() if config.discord_role}
    roles = {name for name in names if name not in mapped}
    for name, config in settings.roles.items():
        if config.discord_role and (config.discord_role in ids or config.discord_role in names):
            roles.add(name)
    return frozenset(roles)


def discord_actor(settings: Settings, user: discord.User | discord.Member, workspace: str,
                  channel_id: int | None) -> Actor:
    return make_actor(
        settings, workspace_id=workspace, platform="discord", member_id=member_id(user.id),
        display_name=user.display_name, platform_roles=platform_roles(settings, user),
        channel_id=str(channel_id) if channel_id is not None else None,
        # Discord sends a member with their roles only in the server; in a direct message it sends a
        # bare user, which says nothing about the roles they hold.
        roles_reported=isinstance(user, discord.Member),
    )
