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
