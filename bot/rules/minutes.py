"""A meeting's minutes as Markdown: notes grouped by agenda item, then the decisions and the action
items listed again at the end, actions grouped by owner. Pure: the service hands in plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.rules.member_text import autolink, escape_markdown

KINDS = ("note", "decision", "action")


@dataclass(frozen=True)
class MinutesItem:
    id: int
    position: int
    title: str
    link: str
    author_name: str
    number: int = 0  # the number members type (#3), per workspace


@dataclass(frozen=True)
class MinutesNote:
    id: int
    kind: str  # note | decision | action
    text: str
    item_id: int | None = None
    owner_name: str | None = None


@dataclass(frozen=True)
class MinutesInput:
    title: str
    when: str  # the meeting's time line, already rendered in its zones
    host: str | None
    note_taker: str | None
    items: Sequence[MinutesItem]
    notes: Sequence[MinutesNote]
    status: str = "scheduled"


def _md(text: str) -> str:
    """Member text (titles, notes, names) as literal Markdown: it cannot forge headings, lists or links."""
    return escape_markdown(text)


def _line(note: MinutesNote) -> str:
    if note.kind == "decision":
        return f"- **Decision:** {_md(note.text)}"
    if note.kind == "action":
        owner = f" ({_md(note.owner_name)})" if note.owner_name else " (no owner)"
        return f"- **Action{owner}:** {_md(note.text)}"
    return f"- {_md(note.text)}"


def render_minutes(minutes: MinutesInput, level: int = 1) -> str:
    """The minutes; ``level`` is the heading level of the title (the export nests them under a series)."""
    h = "#" * level
    sub = "#" * (level + 1)
    subsub = "#" * (level + 2)
    lines = [f"{h} Minutes: {_md(minutes.title)}", "", minutes.when, ""]
    lines.append(f"Host: {_md(minutes.host or 'none')} · Note-taker: {_md(minutes.note_taker or 'none')}")
    lines.append("")
    by_item: dict[int | None, list[MinutesNote]] = {}
    known = {item.id for item in minutes.items}
    for note in minutes.notes:
        by_item.setdefault(note.item_id if note.item_id in known else None, []).append(note)
    where: dict[int, str] = {}
    for item in sorted(minutes.items, key=lambda i: (i.position, i.id)):
        where[item.id] = f"item {item.position}"
        lines.append(f"{sub} {item.position}. {_md(item.title)}")
        lines.append("")
        lines.append(f"{autolink(item.link)} (#{item.number}, added by {_md(item.author_name)})")
        lines.append("")
        notes = by_item.get(item.id, [])
        lines.extend(_line(n) for n in notes) if notes else lines.append("- (no notes)")
        lines.append("")
    general = by_item.get(None, [])
    if general:
        lines.append(f"{sub} {'Other notes' if minutes.items else 'Notes'}")
        lines.append("")
        lines.extend(_line(n) for n in general)
        lines.append("")

    def tail(note: MinutesNote) -> str:
        return f" ({where[note.item_id]})" if note.item_id in where else ""

    decisions = [n for n in minutes.notes if n.kind == "decision"]
    lines.append(f"{sub} Decisions")
    lines.append("")
    lines.extend(f"- {_md(n.text)}{tail(n)}" for n in decisions) if decisions else lines.append("- (none)")
    lines.append("")
    actions = [n for n in minutes.notes if n.kind == "action"]
    lines.append(f"{sub} Action items")
    lines.append("")
    if not actions:
        lines.append("- (none)")
        lines.append("")
    owners = sorted({n.owner_name for n in actions if n.owner_name}, key=str.lower)
    for owner in [*owners, None]:
        mine = [n for n in actions if n.owner_name == owner]
        if not mine:
            continue
        lines.append(f"{subsub} {_md(owner) if owner else 'No owner'}")
        lines.append("")
        lines.extend(f"- [ ] {_md(n.text)}{tail(n)}" for n in mine)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
