"""/notes: notes, decisions and action items of a meeting, and its minutes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.common import SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply
from bot.services.notes import MeetingNotes, NoteEntry

DAY = Option("date", Kind.DATE, "The meeting's date (default: the meeting in progress or just ended).",
             positional=True, placeholder="date")
LABELS = {"note": "", "decision": "Decision: ", "action": "Action: "}


def note_line(note: NoteEntry, loaded: MeetingNotes) -> str:
    where = ""
    if note.item_id is not None:
        item = next((i for i in loaded.items if i.id == note.item_id), None)
        where = f" [item {item.position}: {item.title}]" if item else ""
    owner = f" (owner: {note.owner_name})" if note.owner_name else ""
    # Counted within the meeting, not the global id: no number shows another workspace's activity.
    number = next((i for i, n in enumerate(loaded.notes, start=1) if n.id == note.id), 0)
    return f"- n{number} {LABELS[note.kind]}{note.text}{owner}{where}"


def notes_data(loaded: MeetingNotes) -> list[dict[str, Any]]:
    return [{"id": n.id, "kind": n.kind, "text": n.text, "item": n.item_id, "owner": n.owner,
             "author": n.author, "created_at": n.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")} for n in loaded.notes]


@REGISTRY.command(
    "notes add", "Record a note, decision or action item (note-taker, host or chair).",
    Option("text", Kind.WORD, "The note, in quotes.", required=True, positional=True, placeholder='"<note>"'),
    Option("item", Kind.REF, "The agenda item it is about, like #12."),
    Option("kind", Kind.CHOICE, "note (default), decision or action.", choices=("note", "decision", "action")),
    Option("owner", Kind.MEMBER, "Who does it (action items), as @name."),
    Option("date", Kind.DATE, "The meeting's date (default: the meeting in progress or just ended)."),
    SERIES,
)
async def notes_add(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    owner = ctx.resolve_member(args["owner"]) if "owner" in args else None
    kind = args.get("kind") or ("action" if owner else "note")
    note, loaded = await ctx.services.notes.add(ctx.actor, args["text"], item_id=args.get("item"), kind=kind,
                                                owner=owner, slug=args.get("series"), day=args.get("date"))
    text = f"Recorded for {loaded.title}, {loaded.when}:\n{note_line(note, loaded)}"
    return Reply(text=text, data={"note": notes_data(loaded)[-1] if loaded.notes else {}, "count": len(loaded.notes)})


@REGISTRY.command("notes show", "Show the notes of a meeting (the one in progress or just ended, or on a date).",
                  DAY, SERIES)
async def notes_show(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    loaded = await ctx.services.notes.show(ctx.actor.workspace_id, args.get("series"), args.get("date"))
    lines = [f"Notes of {loaded.title}, {loaded.when}:"]
    lines.extend(note_line(n, loaded) for n in loaded.notes) if loaded.notes else lines.append("  (no notes yet)")
    return Reply(text="\n".join(lines), moments=(loaded.starts_at,), data={"notes": notes_data(loaded)})


@REGISTRY.command("notes publish", "Post the minutes of a meeting to the series' channel (note-taker, host or chair).",
                  DAY, SERIES)
async def notes_publish(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    published = await ctx.services.notes.publish(ctx.actor, args.get("series"), args.get("date"))
    loaded = published.notes
    minutes = loaded.minutes()
    data = {"markdown": minutes, "channel": loaded.series.channel, "key": published.key, "posted": published.posted}
    where = f"#{loaded.series.channel}" if loaded.series.channel else "the series channel"
    if published.key is None:
        # Nothing to post to: the minutes themselves, for the member to paste where they belong.
        text = (f"{loaded.series.name} has no channel to post the minutes to (channel= is set when a series is "
                f"created), so here they are to paste where they belong:\n\n{minutes}")
    elif published.posted:
        text = f"The minutes of {loaded.title}, {loaded.when}, are being posted to {where} ({len(loaded.notes)} notes)."
    else:
        text = (f"These minutes of {loaded.title} were already posted to {where}; nothing changed since. Add notes "
                "and publish again to post the new minutes.")
    return Reply(text=text, ephemeral=True, kind="minutes", moments=(loaded.starts_at,), data=data)
