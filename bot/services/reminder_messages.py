"""The wording of the meeting messages the reminder planner writes (bot/services/reminders.py): the
announcement at the agenda deadline (or "no meeting this week"), the channel's "the agenda closes
soon" and each member's reminder DM. Pure: the planner reads what they name and decides when they go."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.contracts.reply import Reply
from bot.rules.meetings import Occurrence
from bot.rules.time import agenda_deadline, format_for_member, format_home, format_zone_line
from bot.services.views import AgendaEntry, SeriesInfo
from storage.models import Meeting

# Why a member gets a meeting's reminder (several reasons are joined in one DM).
AS_HOST = "you are the host"
AS_NOTE_TAKER = "you take the notes"
AS_SUBSCRIBER = "you subscribed to this series"


def as_author(own: Sequence[AgendaEntry]) -> str:
    """The reason of a member whose items (``own``, at least one) are on the agenda."""
    listed = [f"#{i.number} \"{i.title}\"" for i in own]
    several = len(listed) > 1
    return f"your item{'s' if several else ''} {', '.join(listed)} {'are' if several else 'is'} on the agenda"


def _meeting_data(series: SeriesInfo, row: Meeting, items: list[AgendaEntry]) -> dict[str, object]:
    return {"meeting": {"id": row.id, "series": series.slug, "status": row.status,
                        "starts_at": row.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "host": row.host, "note_taker": row.note_taker,
                        "agenda": [{"id": i.id, "title": i.title, "link": i.link, "author": i.author}
                                   for i in items]}}


def cancelled_announcement(series: SeriesInfo, row: Meeting, items: list[AgendaEntry], following: Occurrence | None,
                           *, empty_agenda: bool) -> Reply:
    """"No meeting this week", posted at the agenda deadline of a cancelled meeting; ``following`` is the
    next meeting that will be held, if any, so people know where to add items."""
    title = row.name or series.name
    when = format_zone_line(row.starts_at, series.timezone, series.display_zones)
    why = ("its agenda has no items" if empty_agenda
           else f"a chair cancelled it{': ' + row.status_reason if row.status_reason else ''}")
    text = f"{title} of {when} is cancelled because {why}."
    if following is not None:
        text += (f"\nNext meeting: {format_home(following.starts_at, series.timezone)}; add items with "
                 f"/agenda add \"<title>\" <link> before "
                 f"{format_home(agenda_deadline(following.starts_at, series.deadline), series.timezone)}.")
    return Reply(text=text, ephemeral=False, title=f"No meeting this week: {title}", kind="announcement",
                 moments=(row.starts_at,), data=_meeting_data(series, row, items))


def agenda_announcement(series: SeriesInfo, row: Meeting, items: list[AgendaEntry], names: dict[str, str]) -> Reply:
    """The closed agenda with its host and note-taker (``names``: their display names), posted at the
    agenda deadline of a meeting that will be held."""
    title = row.name or series.name
    when = format_zone_line(row.starts_at, series.timezone, series.display_zones)
    host = names.get(row.host, row.host) if row.host else "not assigned"
    notes = names.get(row.note_taker, row.note_taker) if row.note_taker else "not assigned"
    lines = [when, f"Host: {host} · Note-taker: {notes}", "Agenda:"]
    lines.extend(f"  {i.position}. {i.title} <{i.link}> (added by {i.author_name})" for i in items)
    return Reply(text="\n".join(lines), ephemeral=False, title=f"{title}: the agenda is closed",
                 kind="announcement", moments=(row.starts_at,), data=_meeting_data(series, row, items))


def agenda_closing(series: SeriesInfo, occurrence: Occurrence, items: list[AgendaEntry], deadline: datetime) -> Reply:
    """The channel's reminder that the agenda closes soon, with how many items it has."""
    title = occurrence.name or series.name
    count = len(items)
    when = format_zone_line(occurrence.starts_at, series.timezone, series.display_zones)
    text = (f"The agenda of {title} ({when}) "
            f"closes at {format_home(deadline, series.timezone)}. It has {count} item"
            f"{'s' if count != 1 else ''} so far; add one with /agenda add \"<title>\" <link>. "
            + ("Without items there is no meeting." if not items else ""))
    return Reply(text=text.strip(), ephemeral=False, kind="reminder", moments=(occurrence.starts_at, deadline),
                 moment_labels=("starts", "agenda deadline"))


def reminder_dm(series: SeriesInfo, occurrence: Occurrence, zone: str | None, reasons: list[str],
                items: list[AgendaEntry]) -> Reply:
    """A member's reminder of a meeting: when it starts (their own zone first, then the home zone, its
    date shown as it is there), why they get it, and the agenda so far."""
    title = occurrence.name or series.name
    home = format_home(occurrence.starts_at, series.timezone)
    mine = format_for_member(occurrence.starts_at, zone)
    why = "; ".join(dict.fromkeys(reasons))
    lines = [f"Reminder: {title} ({series.slug}) starts {mine} your time, {home}.", f"Why you get this: {why}."]
    if items:
        lines.append("Agenda:")
        lines.extend(f"  {i.position}. {i.title} <{i.link}>" for i in items)
    lines.append("Change your reminders with /me reminders 24h,1h or turn them off with /me reminders off.")
    return Reply(text="\n".join(lines), ephemeral=False, title=f"Reminder: {title}", kind="reminder",
                 moments=(occurrence.starts_at,),
                 data={"series": series.slug, "starts_at": occurrence.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")})
