"""/me reminders and /meeting subscribe | unsubscribe: who gets which reminders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.common import SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply
from bot.rules.reminders import format_offsets


@REGISTRY.command(
    "me reminders", "Set how long before a meeting your reminders come, or turn them off.",
    Option("offsets", Kind.WORD, "Comma-separated offsets such as 24h,1h, or off.", required=True, positional=True,
           placeholder="<24h,1h|off>"),
    details="Applies to the reminders you get as host, note-taker or subscriber; as an agenda item's author "
            "you get one 1 h before. 'off' stops all of them.",
)
async def me_reminders(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    offsets = await ctx.services.reminders.set_offsets(ctx.actor, args["offsets"])
    if offsets is None:
        text = "Your reminders are off. /me reminders 24h,1h turns them back on."
    else:
        text = (f"You will get reminders {format_offsets(offsets).replace(',', ' and ')} before meetings you host, "
                "take notes for or subscribed to (and 1h before one with your agenda item).")
    return Reply(text=text, data={"reminders": format_offsets(offsets)})


@REGISTRY.command("meeting subscribe", "Get a reminder of every meeting of a series.", SERIES)
async def meeting_subscribe(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series, _ = await ctx.services.reminders.subscribe(ctx.actor, args.get("series"), True)
    return Reply(text=f"Subscribed to {series.name} ({series.slug}): you will get a direct message before each "
                      f"meeting. /meeting unsubscribe {series.slug} stops it.", data={"subscribed": series.slug})


@REGISTRY.command("meeting unsubscribe", "Stop the reminders of a series you subscribed to.", SERIES)
async def meeting_unsubscribe(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series, _ = await ctx.services.reminders.subscribe(ctx.actor, args.get("series"), False)
    return Reply(text=f"Unsubscribed from {series.name} ({series.slug}).", data={"unsubscribed": series.slug})
