"""/me: the member's own settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply


@REGISTRY.command(
    "me tz", "Set your own time zone, used in reminders sent to you.",
    Option("zone", Kind.ZONE, "An IANA zone name, e.g. Europe/Berlin.", required=True, positional=True,
           placeholder="<zone>"),
)
async def me_tz(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    zone = await ctx.services.members.set_timezone(ctx.actor, args["zone"])
    local: datetime = ctx.services.clock.now().astimezone(ZoneInfo(zone))
    return Reply(text=f"Your time zone is now {zone} (it is {local:%a %H:%M} {local.tzname()} there).",
                 data={"timezone": zone})


@REGISTRY.command(
    "me github", "Link your GitHub login, so issues you label for a meeting are your agenda items.",
    Option("login", Kind.WORD, "Your GitHub login, e.g. octocat.", required=True, positional=True,
           placeholder="<login>"),
)
async def me_github(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    login = await ctx.services.github.link_login(ctx.actor, args["login"])
    return Reply(text=f"Your GitHub login is now {login}: issues and pull requests you label for a meeting are "
                      "added as your items.", data={"github": login})
