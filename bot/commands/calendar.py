"""/calendar: subscription links (one per display zone), and private feeds for chairs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.common import SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply
from bot.rules.ical import FeedLink
from bot.services.views import SeriesInfo


def _links_reply(series: SeriesInfo, links: list[FeedLink], page: str, heading: str) -> Reply:
    lines = [heading, f"Page: {page}"]
    for link in links:
        label = f"{link.zone} (home zone)" if link.home else link.zone
        lines.append(f"- {label}: {link.webcal} · {link.https}")
    if series.feed_token:
        lines.append("This calendar is private: these links hold its token, so keep them to yourself.")
    return Reply(
        text="\n".join(lines),
        # A private feed's token is for members of this workspace only: never in a channel message.
        ephemeral=series.feed_token is not None,
        data={"series": series.slug, "page": page, "private": series.feed_token is not None,
              "links": [{"zone": link.zone, "home": link.home, "https": link.https, "webcal": link.webcal}
                        for link in links]},
    )


@REGISTRY.command("calendar", "Calendar subscription links, one per display zone.", SERIES)
async def calendar_links(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series, links, page = await ctx.services.calendar.links_for(ctx.actor, args.get("series"))
    heading = f"Subscribe to {series.name} ({series.slug}) in your calendar app, with times in the zone you like:"
    return _links_reply(series, links, page, heading)


@REGISTRY.command(
    "calendar private", "Make a series' calendar private (links need a secret token) or public again.",
    Option("state", Kind.CHOICE, "on: the feed needs a token; off: anyone with the address may read it.",
           required=True, positional=True, choices=("on", "off"), placeholder="<on|off>"),
    SERIES,
    chair_only=True,
)
async def calendar_private(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.calendar.set_private(ctx.actor, args.get("series"), args["state"] == "on")
    if series.feed_token is None:
        return Reply(text=f"The calendar of {series.slug} is public again: its links need no token.")
    _, links, page = await ctx.services.calendar.links_for(ctx.actor, series.slug)
    reply = _links_reply(series, links, page, f"The calendar of {series.slug} is now private. New links:")
    return reply


@REGISTRY.command(
    "calendar rotate", "Give a private calendar a new token; links with the old one stop working.", SERIES,
    chair_only=True,
)
async def calendar_rotate(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.calendar.rotate(ctx.actor, args.get("series"))
    _, links, page = await ctx.services.calendar.links_for(ctx.actor, series.slug)
    return _links_reply(series, links, page,
                        f"The calendar of {series.slug} has a new token; the old links no longer work. New links:")
