"""The one place the tests use discord.py's private API: feeding gateway events (GUILD_CREATE,
INTERACTION_CREATE) to a client's connection state, and waiting for the tasks discord.py starts for
them (``CommandTree-invoker``, view dispatch). Everything after that runs through discord.py's own
code against the fake server. Payload shapes follow Discord's documentation."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import discord

from bot.adapters.discord.client import QuorumClient, use_api_base
from bot.commands.dispatcher import Dispatcher
from tests.adapters.discord.fake_discord import APP_ID, FakeDiscord

GUILD_ID = 800000000000000001
CHANNEL_ID = 800000000000000002
CHAIR_ROLE_ID = 800000000000000003
OTHER_ROLE_ID = 800000000000000004
_ids = itertools.count(810000000000000001)

OPTION_TYPES = {str: 3, int: 4, bool: 5}


def snowflake() -> str:
    return str(next(_ids))


async def start_client(dispatcher: Dispatcher, fake: FakeDiscord) -> QuorumClient:
    """A client logged in against the fake (``/users/@me``, ``/oauth2/applications/@me``, setup_hook)
    without a gateway connection: the tests feed gateway events themselves."""
    use_api_base(f"{fake.url}/api/v10")
    client = QuorumClient(dispatcher)
    await client.login("fake-token")
    return client


async def settle(client: QuorumClient) -> None:
    """Wait for every task discord.py (or the client) started, and those they start in turn."""
    current = asyncio.current_task()
    for _ in range(50):
        pending = [t for t in asyncio.all_tasks() if t is not current and not t.done() and _ours(t)]
        if not pending:
            break
        await asyncio.gather(*pending, return_exceptions=True)
    await client.events.wait_idle()


def _ours(task: asyncio.Task[Any]) -> bool:
    name = task.get_name()
    return name.startswith(("CommandTree-invoker", "discord-ui", "discord.py:", "quorum-"))


def role(role_id: int, name: str, position: int) -> dict[str, Any]:
    return {"id": str(role_id), "name": name, "permissions": "0", "position": position, "color": 0,
            "hoist": False, "managed": False, "mentionable": False, "flags": 0}


ROLES = ((CHAIR_ROLE_ID, "Maintainers"), (OTHER_ROLE_ID, "Contributors"))


def guild_payload(roles: tuple[tuple[int, str], ...] = ROLES,
                  members: tuple[tuple[int, str, tuple[int, ...]], ...] = (), *, guild_id: int = GUILD_ID,
                  channel_id: int = CHANNEL_ID, name: str = "TVM") -> dict[str, Any]:
    return {
        "id": str(guild_id), "name": name, "icon": None, "owner_id": "1", "afk_channel_id": None, "afk_timeout": 300,
        "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": [role(guild_id, "@everyone", 0), *(role(rid, name, i + 1) for i, (rid, name) in enumerate(roles))],
        "emojis": [], "features": [], "mfa_level": 0, "system_channel_id": None, "system_channel_flags": 0,
        "rules_channel_id": None, "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": None, "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": "2022-03-01T00:00:00+00:00", "large": False,
        "member_count": len(members) or 3, "members": [member(*m) for m in members],
        "channels": [{"id": str(channel_id), "type": 0, "name": "general", "position": 0,
                      "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None}],
        "threads": [], "presences": [], "voice_states": [], "stage_instances": [], "guild_scheduled_events": [],
        "stickers": [], "soundboard_sounds": [],
    }


async def guild_create(client: QuorumClient, roles: tuple[tuple[int, str], ...] = ROLES,
                       members: tuple[tuple[int, str, tuple[int, ...]], ...] = ()) -> discord.Guild:
    client._connection.parse_guild_create(guild_payload(roles, members))
    await settle(client)
    guild = client.get_guild(GUILD_ID)
    assert guild is not None
    return guild


def user(user_id: int, name: str) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name.title(), "avatar": None}


def member(user_id: int, name: str, roles: tuple[int, ...]) -> dict[str, Any]:
    return {"user": user(user_id, name), "roles": [str(r) for r in roles], "joined_at": "2022-01-01T00:00:00+00:00",
            "deaf": False, "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
            "permissions": "2147483647"}


def interaction_payload(kind: int, data: dict[str, Any], actor: tuple[int, str, tuple[int, ...]], *,
                        guild_id: int = GUILD_ID, channel_id: int = CHANNEL_ID) -> dict[str, Any]:
    """An INTERACTION_CREATE body in a guild channel, e.g. to send over the fake gateway."""
    return _base(kind, data, actor, in_guild=True, guild_id=guild_id, channel_id=channel_id)


def direct_message_payload(kind: int, data: dict[str, Any], actor: tuple[int, str, tuple[int, ...]]) -> dict[str, Any]:
    """An INTERACTION_CREATE body in a direct message with the bot."""
    return _base(kind, data, actor, in_guild=False)


def _base(kind: int, data: dict[str, Any], actor: tuple[int, str, tuple[int, ...]], *, in_guild: bool,
          message: dict[str, Any] | None = None, guild_id: int = GUILD_ID,
          channel_id: int = CHANNEL_ID) -> dict[str, Any]:
    user_id, name, roles = actor
    payload: dict[str, Any] = {
        "id": snowflake(), "application_id": str(APP_ID), "type": kind, "token": f"tok-{snowflake()}",
        "version": 1, "data": data, "locale": "en-US", "app_permissions": "2147483647", "entitlements": [],
        "attachment_size_limit": 26214400,
    }
    if in_guild:
        payload.update({"guild_id": str(guild_id), "channel_id": str(channel_id), "guild_locale": "en-US",
                        "channel": {"id": str(channel_id), "type": 0, "guild_id": str(guild_id), "name": "general"},
                        "member": member(user_id, name, roles), "context": 0,
                        "authorizing_integration_owners": {"0": str(guild_id)}})
    else:
        dm = str(user_id + 1)
        payload.update({"channel_id": dm, "channel": {"id": dm, "type": 1, "recipients": [user(user_id, name)]},
                        "user": user(user_id, name), "context": 1,
                        "authorizing_integration_owners": {"1": str(user_id)}})
    if message is not None:
        payload["message"] = message
    return payload


def command_data(path: tuple[str, ...], options: dict[str, Any], *, focused: str | None = None,
                 in_guild: bool = True, guild_id: int = GUILD_ID) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    leaf = []
    for name, value in options.items():
        if isinstance(value, tuple):  # a member: (user id, name)
            uid, uname = value
            resolved.setdefault("users", {})[str(uid)] = user(uid, uname)
            resolved.setdefault("members", {})[str(uid)] = {k: v for k, v in member(uid, uname, ()).items()
                                                            if k != "user"}
            leaf.append({"name": name, "type": 6, "value": str(uid)})
        else:
            entry = {"name": name, "type": OPTION_TYPES[type(value)], "value": value}
            if name == focused:
                entry["focused"] = True
            leaf.append(entry)
    nested: list[dict[str, Any]] = leaf
    for depth, word in enumerate(reversed(path[1:])):
        nested = [{"name": word, "type": 1 if depth == 0 else 2, "options": nested}]
    data: dict[str, Any] = {"id": snowflake(), "name": path[0], "type": 1, "options": nested}
    if in_guild:
        data["guild_id"] = str(guild_id)
    if resolved:
        data["resolved"] = resolved
    return data


async def slash(client: QuorumClient, actor: tuple[int, str, tuple[int, ...]], path: str,
                **options: Any) -> None:
    """Run ``/path`` with ``options``; ``in_guild=False`` sends it as a direct message."""
    in_guild = bool(options.pop("in_guild", True))
    data = command_data(tuple(path.split()), options, in_guild=in_guild)
    client._connection.parse_interaction_create(_base(2, data, actor, in_guild=in_guild))  # type: ignore[arg-type]
    await settle(client)


async def autocomplete(client: QuorumClient, actor: tuple[int, str, tuple[int, ...]], path: str, focused: str,
                       **options: Any) -> None:
    data = command_data(tuple(path.split()), options, focused=focused)
    client._connection.parse_interaction_create(_base(4, data, actor, in_guild=True))  # type: ignore[arg-type]
    await settle(client)


async def click(client: QuorumClient, actor: tuple[int, str, tuple[int, ...]], message: dict[str, Any],
                custom_id: str, in_guild: bool = True) -> None:
    data = {"custom_id": custom_id, "component_type": 2}
    payload = _base(3, data, actor, in_guild=in_guild, message=message)
    client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await settle(client)


async def submit_modal(client: QuorumClient, actor: tuple[int, str, tuple[int, ...]], message: dict[str, Any],
                       modal: dict[str, Any], value: str, in_guild: bool = True) -> None:
    row = modal["components"][0]["components"][0]
    data = {"custom_id": modal["custom_id"],
            "components": [{"type": 1, "components": [{"type": 4, "custom_id": row["custom_id"], "value": value}]}]}
    payload = _base(5, data, actor, in_guild=in_guild, message=message)
    client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
    await settle(client)
