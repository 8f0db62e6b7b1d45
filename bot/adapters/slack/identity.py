"""Who a Slack user is to Quorum: member ids, display names and zones (``users.info``), and the roles
they hold through user groups (``usergroups.list`` + ``usergroups.users.list``). Lookups are cached
against the injected clock: names for an hour, user-group membership for a minute, so a member added
to or removed from a group gains or loses the role within that minute."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.commands.dispatcher import MentionResolver
from bot.config import Settings
from bot.errors import InvalidInput

log = logging.getLogger("quorum.slack")

USER_TTL = timedelta(hours=1)
GROUP_TTL = timedelta(seconds=60)
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^@?([UW][A-Z0-9]{6,})$")


def workspace_id(team_id: str) -> str:
    return f"slack:{team_id}"


def member_id(team_id: str, user_id: str) -> str:
    return f"slack:{team_id}:{user_id}"


def split_member_id(member: str) -> tuple[str, str] | None:
    """``slack:T1:U2`` -> (T1, U2); None for another platform's member."""
    parts = member.split(":")
    if len(parts) == 3 and parts[0] == "slack":
        return parts[1], parts[2]
    return None


def mention_resolver(team_id: str) -> MentionResolver:
    """Slack sends mentions as ``<@U123|name>`` when the command escapes them (the manifest sets
    ``should_escape``); a plain ``@name`` cannot be told apart from text, so it is refused with a hint."""

    def resolve(raw: str) -> str:
        text = raw.strip()
        if text.startswith("slack:") and split_member_id(text):
            return text
        found = _MENTION.match(text) or _BARE_ID.match(text)
        if found:
            return member_id(team_id, found.group(1))
        raise InvalidInput(f"'{text[:60]}' is not a Slack member: mention them with @ and pick them from "
                           "Slack's list, so the mention turns blue.")

    return resolve


@dataclass(frozen=True)
class SlackUser:
    user_id: str
    display_name: str
    timezone: str | None


class SlackDirectory:
    """Cached reads of users and user groups; also the ``RoleDirectory`` Slack offers votes."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, settings: Settings, clock: Clock) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self._users: dict[str, tuple[datetime, SlackUser]] = {}
        self._group_ids: tuple[datetime, dict[str, str]] | None = None  # handle -> id
        self._group_users: dict[str, tuple[datetime, frozenset[str]]] = {}

    # -- users ------------------------------------------------------------------------------
    async def user(self, user_id: str, fallback_name: str = "") -> SlackUser:
        now = self.clock.now()
        cached = self._users.get(user_id)
        if cached and now - cached[0] < USER_TTL:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            # A name is a nicety: act with what the payload said rather than fail the command.
            log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return cached[1] if cached else SlackUser(user_id, fallback_name or user_id, None)
        raw = response.get("user") or {}
        profile = raw.get("profile") or {}
        name = (profile.get("display_name") or profile.get("real_name") or raw.get("real_name")
                or raw.get("name") or fallback_name or user_id)
        user = SlackUser(user_id, str(name), raw.get("tz") or None)
        self._users[user_id] = (now, user)
        return user

    async def names(self, workspace: str, member_ids: Sequence[str]) -> dict[str, str]:
        """``RoleDirectory.names``: Slack's names of members of this workspace (``users.info``)."""
        found: dict[str, str] = {}
        for member in member_ids:
            parts = split_member_id(member)
            if parts is None or workspace != workspace_id(parts[0]):
                continue
            user = await self.user(parts[1])
            if user.display_name != parts[1]:  # users.info failed: it fell back to the bare id
                found[member] = user.display_name
        return found

    # -- user groups -----------------------------------------------------------------------------
    async def _group_id(self, handle: str, *, fresh: bool) -> str | None:
        now = self.clock.now()
        if fresh or self._group_ids is None or now - self._group_ids[0] >= GROUP_TTL:
            response = await self.client.usergroups_list()
            ids = {str(g.get("handle", "")).lower(): str(g["id"]) for g in response.get("usergroups") or []}
            self._group_ids = (now, ids)
        found = self._group_ids[1].get(handle.lower())
        if found is None:
            log.warning("Slack user group @%s does not exist; its role has no Slack holders", handle)
        return found

    async def group_users(self, handle: str, *, fresh: bool = False) -> frozenset[str]:
        """User ids in the group with this handle (empty when it does not exist or cannot be read)."""
        now = self.clock.now()
        cached = self._group_users.get(handle.lower())
        if cached and not fresh and now - cached[0] < GROUP_TTL:
            return cached[1]
        try:
            group = await self._group_id(handle, fresh=fresh)
            users: frozenset[str] = frozenset()
            if group is not None:
                response = await self.client.usergroups_users_list(usergroup=group)
                users = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.warning("reading Slack user group @%s failed: %s", handle, exc.response.get("error"))
            return cached[1] if cached else frozenset()
        self._group_users[handle.lower()] = (now, users)
        return users

    async def roles_of(self, user_id: str) -> frozenset[str]:
        """Roles the user holds through Slack user groups (config-listed roles are added later)."""
        roles = set()
        for name, role in self.settings.roles.items():
            if role.slack_usergroup and user_id in await self.group_users(role.slack_usergroup):
                roles.add(name)
        return frozenset(roles)

    # -- RoleDirectory ---------------------------------------------------------------------------
    async def holders(self, workspace: str, role: str) -> dict[str, str] | None:
        """Everyone holding ``role`` now: the user group read fresh (a vote's electorate must not be a
        minute old) plus the members the config lists. None when the role has no user group."""
        config = self.settings.roles.get(role)
        if not workspace.startswith("slack:") or config is None or not config.slack_usergroup:
            return None
        team = workspace.split(":", 1)[1]
        listing: dict[str, str] = {}
        for user_id in sorted(await self.group_users(config.slack_usergroup, fresh=True)):
            listing[member_id(team, user_id)] = (await self.user(user_id)).display_name
        for member in config.members:
            parts = split_member_id(member)
            if parts and parts[0] == team and member not in listing:
                listing[member] = (await self.user(parts[1])).display_name
        return listing
