"""/meeting: the next meeting, upcoming meetings, series, one-off meetings, cancel and restore."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.common import MEETING, SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.commands.render import meeting_data, meeting_duties, meeting_moments, meeting_text
from bot.contracts.reply import Reply
from bot.rules.parsing import WEEKDAY_NAMES, format_duration
from bot.rules.time import agenda_deadline, format_home, format_zone_line
from bot.services.forum_text import forum_summary

FORUM_OPTIONS = (
    Option("forum_category", Kind.WORD, "Forum category for meeting topics (slug or id), or off (docs/forum.md)."),
    Option("published_before", Kind.WORD, "Linked forum topics must be this old at the meeting, e.g. 24h, or off."),
)


@REGISTRY.command("meeting next", "Show the next meeting: times in every zone, host, note-taker, agenda.", SERIES)
async def meeting_next(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view, skipped = await ctx.services.meetings.next_meeting(ctx.actor.workspace_id, args.get("series"))
    now = ctx.services.clock.now()
    text = meeting_text(view, now, heading=f"Next: {view.title} ({view.series.slug})")
    if skipped:
        dates = ", ".join(f"{s.local_date:%a %Y-%m-%d}" for s in skipped)
        text += f"\n(Cancelled before it: {dates}.)"
    return Reply(text=text, **meeting_moments(view), kind="meeting", data={"meeting": meeting_data(view)},
                 duties=meeting_duties(view))


@REGISTRY.command(
    "meeting list", "List upcoming meetings.", SERIES,
    Option("count", Kind.INT, "How many meetings to show (1-20).", minimum=1, maximum=20),
)
async def meeting_list(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    views = await ctx.services.meetings.upcoming(ctx.actor.workspace_id, args.get("series"), args.get("count", 5))
    if not views:
        return Reply(text="No upcoming meetings.")
    several = len({v.series.id for v in views}) > 1
    series = views[0].series
    lines = ["Upcoming meetings:" if several else f"Upcoming meetings of {series.name} ({series.slug}):"]
    for view in views:
        status = " [CANCELLED]" if view.status == "cancelled" else ""
        items = len(view.agenda)
        # A one-off's own name, and the series of each when several are listed together.
        title = view.occurrence.name or (view.series.name if several else None)
        named = f"{title}{f' ({view.series.slug})' if several else ''}: " if title else ""
        zones = format_zone_line(view.starts_at, view.series.timezone, view.series.display_zones)
        number = f"#{view.occurrence.number} " if view.occurrence.number else ""  # stored meetings (meeting=#4)
        lines.append(f"- {number}{named}{zones}{status} · {items} agenda item{'s' if items != 1 else ''}")
    return Reply(text="\n".join(lines), moments=tuple(v.starts_at for v in views),
                 data={"meetings": [meeting_data(v) for v in views]})


@REGISTRY.command(
    "meeting series create", "Create a standing weekly meeting.",
    Option("slug", Kind.WORD, "Short name used in commands and calendar links, e.g. community.", required=True),
    Option("name", Kind.TEXT, "The meeting's name, e.g. \"Community meeting\".", required=True),
    Option("weekday", Kind.WEEKDAY, "Day of the week in the home zone: mon..sun.", required=True),
    Option("time", Kind.TIME, "Local start time in the home zone, HH:MM.", required=True),
    Option("tz", Kind.ZONE, "Home time zone (IANA), e.g. America/Los_Angeles.", required=True),
    Option("duration", Kind.DURATION, "Length of each meeting, e.g. 60 (minutes) or 1h30m."),
    Option("deadline", Kind.DURATION, "How long before the start the agenda closes (default 24h)."),
    Option("zones", Kind.ZONES, "Display zones, comma-separated, e.g. UTC,Europe/London,Asia/Shanghai."),
    Option("start", Kind.DATE, "First meeting date, YYYY-MM-DD (default: the first whose agenda is still open)."),
    Option("channel", Kind.WORD, "Channel where announcements and minutes go."),
    Option("links", Kind.WORD, "Hosts agenda links must be on, comma-separated, e.g. github.com,discuss.example.org."),
    *FORUM_OPTIONS,
    chair_only=True,
)
async def series_create(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    hosts = tuple(h.strip().lower() for h in args["links"].split(",") if h.strip()) if "links" in args else None
    series = await ctx.services.meetings.create_series(
        ctx.actor, slug=args["slug"], name=args["name"], weekday=args["weekday"], local_time=args["time"],
        timezone=args["tz"], duration=args.get("duration", timedelta(minutes=60)),
        deadline=args.get("deadline", timedelta(hours=24)), zones=args.get("zones"), start=args.get("start"),
        channel=args.get("channel"), link_hosts=hosts, forum_category=args.get("forum_category"),
        published_before=args.get("published_before"),
    )
    now = ctx.services.clock.now()
    first = series.rule.occurrences(now, 1)
    first_line = format_zone_line(first[0][1], series.timezone, series.display_zones) if first else "none"
    text = (
        f"Created series {series.slug}: {series.name}, {WEEKDAY_NAMES[series.weekday]}s at "
        f"{series.local_time:%H:%M} {series.timezone}, {format_duration(series.duration)}; the agenda closes "
        f"{format_duration(series.deadline)} before each meeting.\nFirst meeting: {first_line}"
    )
    if first:  # when its agenda closes (a start= given in the past may have closed it already)
        closes = agenda_deadline(first[0][1], series.deadline)
        text += f"\nIts agenda {'closes' if closes > now else 'closed'} {format_home(closes, series.timezone)}."
    return Reply(text=text, ephemeral=False, moments=tuple(f[1] for f in first),
                 data={"series": {"slug": series.slug, "name": series.name, "timezone": series.timezone,
                                  "weekday": series.weekday, "time": f"{series.local_time:%H:%M}"}})


@REGISTRY.command(
    "meeting series edit", "Change a series' forum settings (docs/forum.md).",
    Option("slug", Kind.SLUG, "The series' slug.", required=True, positional=True, autocomplete="series",
           placeholder="<series>"),
    *FORUM_OPTIONS,
    chair_only=True,
)
async def series_edit(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.meetings.edit_series(ctx.actor, args["slug"], forum_category=args.get("forum_category"),
                                                     published_before=args.get("published_before"))
    return Reply(text=f"Updated {series.slug}: {forum_summary(series, ctx.services.settings)}", ephemeral=False)


@REGISTRY.command("meeting series list", "List the meeting series of this workspace.")
async def series_list(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    rows = await ctx.services.meetings.list_series(ctx.actor.workspace_id)
    if not rows:
        return Reply(text="No series yet: a chair creates one with /meeting series create.")
    lines = [f"- {s.slug}: {s.name}, {s.meets()}" for s in rows]
    return Reply(text="\n".join(lines), data={"series": [s.slug for s in rows]})


@REGISTRY.command(
    "meeting series default", "Choose the series commands use when they name none (chair).",
    Option("slug", Kind.SLUG, "The series' slug.", required=True, positional=True, autocomplete="series",
           placeholder="<series>"),
    chair_only=True,
)
async def series_default(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.meetings.set_default_series(ctx.actor, args["slug"])
    return Reply(text=f"Commands that name no series now use {series.slug} ({series.name}), unless they are "
                      "typed in another series' channel. Name a series (series=...) to act on another.",
                 data={"default_series": series.slug})


@REGISTRY.command(
    "meeting add", "Add a one-off meeting to a series.",
    Option("when", Kind.DATETIME, "Local date and time, YYYY-MM-DDTHH:MM.", required=True, positional=True,
           placeholder="<YYYY-MM-DDTHH:MM>"),
    Option("tz", Kind.ZONE, "Time zone of that local time (IANA).", required=True),
    SERIES,
    Option("name", Kind.TEXT, "A name for this meeting, e.g. \"Release planning\"."),
    chair_only=True,
)
async def meeting_add(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.meetings.add_one_off(ctx.actor, args.get("series"), args["when"], args["tz"],
                                                    args.get("name"))
    now = ctx.services.clock.now()
    named = f"\"{view.occurrence.name}\" or " if view.occurrence.name else ""
    local = view.starts_at.astimezone(ZoneInfo(view.occurrence.timezone))
    text = (f"Added a one-off meeting, #{view.occurrence.number}.\n" + meeting_text(view, now) +
            f"\nAdd items with /agenda add ... meeting={named}#{view.occurrence.number}, or date={local:%Y-%m-%d}.")
    return Reply(text=text, ephemeral=False, **meeting_moments(view), kind="meeting",
                 data={"meeting": meeting_data(view)})


@REGISTRY.command(
    "meeting cancel", "Cancel a meeting (the next one, or the one on a date).",
    Option("date", Kind.DATE, "The meeting's date, YYYY-MM-DD.", positional=True, placeholder="date"),
    SERIES,
    Option("reason", Kind.TEXT, "Why, shown in the announcement."),
    MEETING,
    chair_only=True,
)
async def meeting_cancel(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.meetings.set_status(ctx.actor, args.get("series"), args.get("date"), "cancelled",
                                                   args.get("reason"), args.get("meeting"))
    when = format_zone_line(view.starts_at, view.series.timezone, view.series.display_zones)
    return Reply(text=f"Cancelled the meeting of {when}. /meeting restore {view.local_date} undoes it.",
                 ephemeral=False, moments=(view.starts_at,), data={"meeting": meeting_data(view)})


@REGISTRY.command(
    "meeting restore", "Restore a cancelled meeting.",
    Option("date", Kind.DATE, "The meeting's date, YYYY-MM-DD.", required=True, positional=True,
           placeholder="<date>"),
    SERIES,
    chair_only=True,
)
async def meeting_restore(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.meetings.set_status(ctx.actor, args.get("series"), args["date"], "scheduled")
    when = format_zone_line(view.starts_at, view.series.timezone, view.series.display_zones)
    return Reply(text=f"Restored the meeting of {when}.", ephemeral=False, moments=(view.starts_at,),
                 data={"meeting": meeting_data(view)})
