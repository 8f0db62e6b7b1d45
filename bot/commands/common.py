"""Options used by several commands."""

from __future__ import annotations

from bot.commands.options import Kind, Option

SERIES = Option("series", Kind.SLUG,
                "The series' slug (optional: else the channel's series, or the workspace's default).",
                positional=True, autocomplete="series", placeholder="series")
MEETING = Option("meeting", Kind.TEXT, "A meeting by its number (#4, see /meeting list) or its name, in quotes.")
DATE = Option("date", Kind.DATE, "The meeting's date in the series' home zone, YYYY-MM-DD.", positional=True,
              placeholder="date")
