"""Who is acting: the member, their workspace and their roles (platform-reported joined with config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Platform = Literal["console", "discord", "slack"]


def platform_of(workspace_id: str) -> Platform:
    """``discord:<guild>`` and ``slack:<team>`` belong to those platforms; any other name is a console
    workspace (so ``quorum console --workspace slack:T0001`` acts on that Slack workspace's records)."""
    prefix, sep, _rest = workspace_id.partition(":")
    if sep and prefix == "discord":
        return "discord"
    if sep and prefix == "slack":
        return "slack"
    return "console"


@dataclass(frozen=True)
class Actor:
    workspace_id: str
    member_id: str
    display_name: str
    platform: str = "console"
    # Roles the platform reported for this member on this request (Discord roles, Slack user groups,
    # console --role). Config-listed roles are added by ``roles`` below.
    platform_roles: frozenset[str] = frozenset()
    # False when the platform sent no roles with this request (a Discord direct message): the roles
    # recorded earlier for the member stay as they were instead of being replaced by none.
    roles_reported: bool = True
    roles: frozenset[str] = frozenset()
    is_chair: bool = False
    # The member's zone as the platform reports it (Slack users.info), used when they set none.
    platform_timezone: str | None = None
    channel_id: str | None = None
