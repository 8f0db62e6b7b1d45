"""/agenda: add, list, remove and reorder agenda items."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.common import DATE, MEETING, SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.commands.render import agenda_lines, meeting_data, meeting_moments, meeting_text
from bot.contracts.reply import Reply
from bot.rules.time import format_home, format_zone_line

ITEM = Option("item", Kind.REF, "The item's number, like #12 (see /agenda list).", required=True, positional=True,
              autocomplete="agenda_item", placeholder="#<item>")


@REGISTRY.command(
    "agenda add", "Add an item to the next meeting's agenda (or the meeting on date=).",
    Option("title", Kind.TEXT, "What to discuss, in quotes.", required=True, positional=True,
           placeholder='"<title>"'),
    Option("link", Kind.LINK, "The forum post or GitHub issue with the context.", required=True, positional=True,
           placeholder="<link>"),
    SERIES,
    DATE,
    MEETING,
)
async def agenda_add(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    added = await ctx.services.agenda.add(ctx.actor, args["title"], args["link"], args.get("series"),
                                          args.get("date"), args.get("meeting"))
    view, item = added.meeting, added.item
    series = view.series
    text = (
        f"Added #{item.number} \"{item.title}\" as item {item.position} for "
        f"{format_zone_line(view.starts_at, series.timezone, series.display_zones)}.\n"
        f"The agenda closes {format_home(view.deadline, series.timezone)}."
    )
    if added.note:
        text += f"\nNote: {added.note}"
    return Reply(text=text, **meeting_moments(view),
                 data={"item": {"id": item.id, "number": item.number, "position": item.position, "title": item.title,
                                "link": item.link},
                       "meeting": meeting_data(view), **({"note": added.note} if added.note else {})})


@REGISTRY.command("agenda list", "Show the agenda of the next meeting (or the meeting on date=).", SERIES, DATE,
                  MEETING)
async def agenda_list(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.agenda.list(ctx.actor.workspace_id, args.get("series"), args.get("date"),
                                          args.get("meeting"))
    return Reply(text=meeting_text(view, ctx.services.clock.now()), **meeting_moments(view), kind="meeting",
                 data={"meeting": meeting_data(view)})


@REGISTRY.command("agenda remove",
                  "Remove an item (its author before the deadline; a chair until the meeting starts).", ITEM)
async def agenda_remove(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    removed, view = await ctx.services.agenda.remove(ctx.actor, args["item"])
    text = f"Removed #{removed.number} \"{removed.title}\". The agenda now:\n" + "\n".join(agenda_lines(view.agenda))
    if view.deadline <= ctx.services.clock.now():
        text += "\nThe agenda had closed: its announcement is edited to say a chair removed the item."
    return Reply(text=text, data={"removed": removed.number, "meeting": meeting_data(view)})


@REGISTRY.command(
    "agenda move", "Move an item to another position (chair).", ITEM,
    Option("position", Kind.INT, "The new position, 1 being first.", required=True, positional=True, minimum=1,
           maximum=999, placeholder="<position>"),
    chair_only=True,
)
async def agenda_move(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.agenda.move(ctx.actor, args["item"], args["position"])
    text = f"Moved #{args['item']} to position {args['position']}. The agenda now:\n" + "\n".join(
        agenda_lines(view.agenda))
    return Reply(text=text, data={"meeting": meeting_data(view)})
