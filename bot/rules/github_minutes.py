"""One agenda item's part of the minutes as a GitHub comment (Markdown). Pure.

Member text is neutralised for GitHub: ``@name`` would notify that account and ``org/team`` mentions a
whole team, so a zero-width joiner is put after each ``@``; ``<`` ``>`` ``&`` are escaped so a note can
neither open HTML (nor forge the hidden marker) in the comment."""

from __future__ import annotations

from collections.abc import Sequence

from bot.rules.minutes import MinutesItem, MinutesNote

ZERO_WIDTH_JOINER = "\u2060"


def comment_marker(meeting_id: int, item_id: int) -> str:
    """The hidden key of an item's comment: how a retried or re-published post finds the comment made
    before instead of adding another (GitHub comments take no idempotency key)."""
    return f"<!-- quorum-minutes meeting={meeting_id} item={item_id} -->"


def neutralise(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("@", "@" + ZERO_WIDTH_JOINER)


def item_comment(*, marker: str, meeting_title: str, when: str, item: MinutesItem,
                 notes: Sequence[MinutesNote], minutes_url: str | None = None) -> str:
    decisions = [n for n in notes if n.kind == "decision"]
    actions = [n for n in notes if n.kind == "action"]
    plain = [n for n in notes if n.kind == "note"]
    lines = [marker, f"**Discussed at {neutralise(meeting_title)}** ({neutralise(when)}), "
                     f"as item {item.position}: {neutralise(item.title)}", ""]
    if not notes:
        lines += ["No notes were recorded for this item.", ""]
    if plain:
        lines += ["**Notes**", "", *(f"- {neutralise(n.text)}" for n in plain), ""]
    if decisions:
        lines += ["**Decisions**", "", *(f"- {neutralise(n.text)}" for n in decisions), ""]
    if actions:
        lines += ["**Action items**", ""]
        lines += [f"- [ ] {neutralise(n.text)} ({neutralise(n.owner_name) if n.owner_name else 'no owner'})"
                  for n in actions]
        lines.append("")
    if minutes_url:
        lines += [f"Full minutes: {minutes_url}", ""]
    lines.append("_Posted by Quorum; edited if the minutes are published again._")
    return "\n".join(lines) + "\n"
