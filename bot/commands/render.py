"""Text renderings shared by command replies: a meeting and its agenda."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from bot.contracts.reply import MeetingDuties
from bot.rules.time import format_home, format_zone_line, relative
from bot.services.views import AgendaEntry, MeetingView


def agenda_lines(agenda: tuple[AgendaEntry, ...]) -> list[str]:
    if not agenda:
        return ["  (no items yet)"]
    return [f"  {item.position}. #{item.number} {item.title} <{item.link}> (added by {item.author_name})"
            for item in agenda]


def meeting_text(view: MeetingView, now: datetime, *, heading: str | None = None) -> str:
    series = view.series
    status = {"cancelled": " [CANCELLED]", "held": " [held]"}.get(view.status, "")
    title = heading or f"{view.title} ({series.slug})"
    lines = [
        f"{title}{status}",
        format_zone_line(view.starts_at, series.timezone, series.display_zones),
    ]
    if view.status != "cancelled":
        state = "closes" if view.deadline > now else "closed"
        lines.append(f"Agenda {state}: {format_home(view.deadline, series.timezone)} ({relative(view.deadline, now)})")
    mark = " (provisional)" if view.provisional else ""
    host = f"{view.name_of(view.occurrence.host)}{mark}" if view.occurrence.host else "not assigned yet"
    notes = f"{view.name_of(view.occurrence.note_taker)}{mark}" if view.occurrence.note_taker else "not assigned yet"
    lines.append(f"Host: {host} · Note-taker: {notes}")
    lines.append("Agenda:")
    lines.extend(agenda_lines(view.agenda))
    return "\n".join(lines)


class Moments(TypedDict):
    moments: tuple[datetime, ...]
    moment_labels: tuple[str, ...]


def meeting_moments(view: MeetingView) -> Moments:
    """``Reply`` fields for a meeting shown with its agenda deadline: both instants, labelled, so every
    platform shows each reader's own time of both (``<t:…>``, ``<!date^…>``, the console's /me tz line)."""
    if view.status == "cancelled":
        return Moments(moments=(view.starts_at,), moment_labels=("starts",))
    return Moments(moments=(view.starts_at, view.deadline), moment_labels=("starts", "agenda deadline"))


def meeting_duties(view: MeetingView) -> MeetingDuties:
    return MeetingDuties(host=view.occurrence.host, note_taker=view.occurrence.note_taker)


def meeting_data(view: MeetingView) -> dict[str, Any]:
    """The same shape as a meeting in the JSON export, plus the series slug and deadline."""
    return {
        "id": view.occurrence.meeting_id,
        "number": view.occurrence.number,
        "name": view.occurrence.name,
        "series": view.series.slug,
        "starts_at": view.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deadline": view.deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": view.status,
        "host": view.occurrence.host,
        "note_taker": view.occurrence.note_taker,
        "provisional": view.provisional,
        "agenda": [
            {"id": i.id, "number": i.number, "position": i.position, "title": i.title, "link": i.link,
             "author": i.author,
             "author_name": i.author_name, "added_at": i.added_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for i in view.agenda
        ],
    }
