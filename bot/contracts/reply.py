"""The neutral answer every command handler returns; adapters render it as plain text, a Discord
embed or Slack Block Kit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True)
class Button:
    """A button that runs a command as the member who clicks it. ``action`` is command text in the
    shared grammar, e.g. ``vote cast #3 +1``; ``id`` is a stable custom id for platforms."""

    label: str
    action: str
    id: str
    style: str = "secondary"  # primary | secondary | danger
    # When set, the platform first asks the member for text with this prompt (a Discord modal, a Slack
    # dialog) and appends it, quoted, to ``action``: e.g. the reason a -1 veto needs.
    prompt: str | None = None


@dataclass(frozen=True)
class Reply:
    text: str
    ok: bool = True
    ephemeral: bool = True
    title: str | None = None
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    # Instants the reply is about, so platforms can add each reader's own local time
    # (<t:UNIX:F> on Discord, <!date^UNIX^...> on Slack) next to the display-zone line.
    moments: tuple[datetime, ...] = ()
    # Structured content for adapters and --json. Conventions: data["refresh"] holds reply_to_json() of
    # a message that should replace the one a clicked button was on (e.g. a vote's live tally).
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "text"  # text | meeting | vote | help | error ...

    @classmethod
    def error(cls, message: str, **data: Any) -> Reply:
        return cls(text=message, ok=False, ephemeral=True, kind="error", data=dict(data))

    def as_plain_text(self) -> str:
        """Everything in the reply as text, for the console and for fallbacks."""
        parts = []
        if self.title:
            parts.append(self.title)
        if self.text:
            parts.append(self.text)
        parts.extend(f"{f.name}: {f.value}" for f in self.fields)
        if self.buttons:
            parts.append("Actions: " + " | ".join(f"[{b.label}] {b.action}" for b in self.buttons))
        return "\n".join(parts)


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A JSON-safe form of a reply, stored in the outbox and read back by notifiers."""
    return {
        "text": reply.text, "ok": reply.ok, "ephemeral": reply.ephemeral, "title": reply.title,
        "fields": [[f.name, f.value] for f in reply.fields],
        "buttons": [[b.label, b.action, b.id, b.style, b.prompt] for b in reply.buttons],
        "moments": [m.isoformat() for m in reply.moments], "data": reply.data, "kind": reply.kind,
    }


def reply_from_json(raw: dict[str, Any]) -> Reply:
    return Reply(
        text=raw["text"], ok=raw.get("ok", True), ephemeral=raw.get("ephemeral", False), title=raw.get("title"),
        fields=tuple(Field(n, v) for n, v in raw.get("fields", [])),
        buttons=tuple(Button(*fields) for fields in raw.get("buttons", [])),
        moments=tuple(datetime.fromisoformat(m) for m in raw.get("moments", [])), data=raw.get("data", {}),
        kind=raw.get("kind", "text"),
    )
