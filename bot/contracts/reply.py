"""The neutral answer every command handler returns; adapters render it as plain text, a Discord
embed or Slack Block Kit.

Adapters read only the typed fields. ``data`` is the structured content of ``--json`` output and of
the outbox's console lines; no adapter looks keys up in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, get_args

ReplyKind = Literal["text", "error", "help", "meeting", "vote", "minutes", "rotation", "reminder", "announcement"]
ButtonStyle = Literal["primary", "secondary", "danger", "success"]


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
    style: ButtonStyle = "secondary"
    # When set, the platform first asks the member for text with this prompt (a Discord modal, a Slack
    # dialog) and appends it, quoted, to ``action``: e.g. the reason a -1 veto needs.
    prompt: str | None = None


@dataclass(frozen=True)
class VoteChoice:
    """A vote as a platform's autocomplete offers it (``/vote list`` fills these)."""

    id: int  # the number members type (#3), per workspace
    title: str
    is_open: bool


@dataclass(frozen=True)
class MeetingDuties:
    """Who hosts and who takes notes at the meeting a reply shows (member ids), e.g. for the App Home."""

    host: str | None
    note_taker: str | None


def labelled(moments: tuple[datetime, ...], labels: tuple[str, ...], render: Callable[[datetime], str]) -> str:
    """``starts X · agenda closes Y``: each moment rendered, after its label when it has one."""
    return " · ".join(f"{labels[i]} {render(m)}" if i < len(labels) and labels[i] else render(m)
                      for i, m in enumerate(moments))


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
    # What each moment is ("starts", "agenda closes", "vote closes"), in the order of ``moments``; may be
    # empty (the platforms then show the times unlabelled).
    moment_labels: tuple[str, ...] = ()
    # Structured content for --json and the console's outbox lines (see the module docstring).
    data: dict[str, Any] = field(default_factory=dict)
    kind: ReplyKind = "text"
    # The message that replaces the one a clicked button was on (e.g. a vote's live tally, or its
    # result when the vote closed since the message was drawn).
    refresh: Reply | None = None
    # The open vote whose live message this is: an adapter that posts it records the message, so the
    # vote's close can redraw it as the result.
    live_vote: int | None = None
    # The votes a listing shows, for autocomplete.
    votes: tuple[VoteChoice, ...] = ()
    # The host and note-taker of the meeting shown.
    duties: MeetingDuties | None = None
    # The member a channel post is for (the outbox's post that replaces a DM they could not receive):
    # notifiers turn the member id at the start of the text into a platform mention.
    mention: str | None = None

    @classmethod
    def error(cls, message: str, *, refresh: Reply | None = None, **data: Any) -> Reply:
        return cls(text=message, ok=False, ephemeral=True, kind="error", data=dict(data), refresh=refresh)

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

    def json_data(self) -> dict[str, Any]:
        """``data`` as ``--json`` shows it: with the refresh a click would apply, in the form scripts have
        always read (the typed fields are for adapters, and are left out)."""
        if self.refresh is None:
            return self.data
        refresh = replace(self.refresh, refresh=None, live_vote=None, votes=(), duties=None, mention=None)
        return {**self.data, "refresh": {**reply_to_json(refresh), "data": self.refresh.json_data()}}


def reply_to_json(reply: Reply) -> dict[str, Any]:
    """A JSON-safe form of a reply, stored in the outbox and read back by notifiers. The typed fields
    adapters act on are written only when set, so a stored message reads exactly as it did before they
    existed."""
    raw: dict[str, Any] = {
        "text": reply.text, "ok": reply.ok, "ephemeral": reply.ephemeral, "title": reply.title,
        "fields": [[f.name, f.value] for f in reply.fields],
        "buttons": [[b.label, b.action, b.id, b.style, b.prompt] for b in reply.buttons],
        "moments": [m.isoformat() for m in reply.moments], "data": reply.data, "kind": reply.kind,
    }
    if reply.refresh is not None:
        raw["refresh"] = reply_to_json(reply.refresh)
    if reply.live_vote is not None:
        raw["live_vote"] = reply.live_vote
    if reply.votes:
        raw["votes"] = [[v.id, v.title, v.is_open] for v in reply.votes]
    if reply.duties is not None:
        raw["duties"] = [reply.duties.host, reply.duties.note_taker]
    if reply.moment_labels:
        raw["moment_labels"] = list(reply.moment_labels)
    return raw


def reply_from_json(raw: dict[str, Any]) -> Reply:
    """The reply ``reply_to_json`` wrote. Missing keys take ``Reply``'s defaults (every stored message
    names ``ephemeral``; outbox messages are posts, which ignore it)."""
    refresh = raw.get("refresh")
    duties = raw.get("duties")
    return Reply(
        text=raw["text"], ok=raw.get("ok", True), ephemeral=raw.get("ephemeral", True), title=raw.get("title"),
        fields=tuple(Field(n, v) for n, v in raw.get("fields", [])),
        # Buttons stored before they could prompt have four fields.
        buttons=tuple(Button(b[0], b[1], b[2], _button_style(b[3]), b[4] if len(b) > 4 else None)
                      for b in raw.get("buttons", [])),
        moments=tuple(datetime.fromisoformat(m) for m in raw.get("moments", [])), data=raw.get("data", {}),
        moment_labels=tuple(str(label) for label in raw.get("moment_labels", [])),
        kind=_reply_kind(raw.get("kind")),
        refresh=reply_from_json(refresh) if isinstance(refresh, dict) else None,
        live_vote=raw.get("live_vote"),
        votes=tuple(VoteChoice(int(i), str(t), bool(o)) for i, t, o in raw.get("votes", [])),
        duties=MeetingDuties(duties[0], duties[1]) if isinstance(duties, list) else None,
        # Stored posts name their member in data (the outbox writes both; the stored form is unchanged).
        mention=raw.get("data", {}).get("mention"),
    )


REPLY_KINDS: tuple[ReplyKind, ...] = get_args(ReplyKind)
BUTTON_STYLES: tuple[ButtonStyle, ...] = get_args(ButtonStyle)


def _reply_kind(value: object) -> ReplyKind:
    """A stored kind; every kind a reply was ever stored with is in ``REPLY_KINDS``."""
    return next((kind for kind in REPLY_KINDS if kind == value), "text")


def _button_style(value: object) -> ButtonStyle:
    return next((style for style in BUTTON_STYLES if style == value), "secondary")
