"""/rotation: who hosts and who takes notes; rosters, skips, swaps and a chair's direct assignment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.common import SERIES
from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply
from bot.rules.rotation import DUTIES, DUTY_WORDS
from bot.rules.time import format_home
from bot.services.rotation import RotationView

DUTY = Option("duty", Kind.CHOICE, "Which roster: host or notes.", required=True, positional=True,
              choices=DUTIES, placeholder="<host|notes>")
WHEN = Option("date", Kind.DATE, "The meeting's date in the series' home zone, YYYY-MM-DD.", required=True,
              positional=True, placeholder="<date>")
MEMBER = Option("member", Kind.MEMBER, "The member, as a mention: @name.", required=True, positional=True,
                placeholder="@member")


def _turns(count: int) -> str:
    return f"{count} turn{'' if count == 1 else 's'}"


def rotation_text(view: RotationView) -> str:
    series = view.series
    lines = [f"Rotation of {series.name} ({series.slug})"]
    for duty in DUTIES:
        roster = view.rosters[duty]
        listed = ", ".join(f"{r.name} ({_turns(r.turns)})" for r in roster) if roster else (
            f"nobody yet: /rotation join {duty}")
        lines.append(f"{DUTY_WORDS[duty].capitalize()} roster: {listed}")
    lines.append("Upcoming:")
    if not view.upcoming:
        lines.append("  (no upcoming meetings)")
    for occurrence, assignment, skipped in view.upcoming:
        when = format_home(occurrence.starts_at, series.timezone)
        if assignment.cancelled:
            lines.append(f"- {when}: cancelled")
            continue
        mark = "" if assignment.fixed else " (provisional)"
        lines.append(f"- {when}: host {view.name(assignment.host.member)}{mark}, note-taker "
                     f"{view.name(assignment.notes.member)}{mark}")
        if not assignment.fixed:
            lines.append(f"    host: {assignment.host.reason}")
            lines.append(f"    note-taker: {assignment.notes.reason}")
        if skipped:
            lines.append(f"    skipping: {', '.join(skipped)}")
    if view.swaps:
        lines.append("Open swaps:")
        for swap in view.swaps:
            lines.append(f"- #{swap.number} {swap.local_date:%a %Y-%m-%d} {DUTY_WORDS[swap.duty]}: {swap.from_name} → "
                         f"{swap.to_name} ({swap.to_name} accepts with /rotation accept #{swap.number})")
    return "\n".join(lines)


def rotation_data(view: RotationView) -> dict[str, Any]:
    return {
        "series": view.series.slug,
        "rosters": {d: [{"member": r.member, "name": r.name, "turns": r.turns} for r in view.rosters[d]]
                    for d in DUTIES},
        "upcoming": [
            {"key": o.key, "starts_at": o.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "cancelled": a.cancelled,
             "fixed": a.fixed, "host": a.host.member, "note_taker": a.notes.member,
             "host_reason": a.host.reason, "note_taker_reason": a.notes.reason, "skipping": skipped}
            for o, a, skipped in view.upcoming
        ],
        "swaps": [{"id": s.id, "date": s.local_date.isoformat(), "duty": s.duty, "from": s.from_name,
                   "to": s.to_name} for s in view.swaps],
    }


async def _show(ctx: CommandContext, slug: str | None, prefix: str = "", ephemeral: bool = True) -> Reply:
    view = await ctx.services.rotation.show(ctx.actor.workspace_id, slug)
    text = (prefix + "\n" if prefix else "") + rotation_text(view)
    return Reply(text=text, ephemeral=ephemeral, data={"rotation": rotation_data(view)},
                 moments=tuple(o.starts_at for o, _a, _s in view.upcoming))


@REGISTRY.command("rotation show", "Show the rosters and who hosts and takes notes at the next meetings, and why.",
                  SERIES)
async def rotation_show(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    return await _show(ctx, args.get("series"))


@REGISTRY.command("rotation join", "Join the host or notes roster of a series.", DUTY, SERIES)
async def rotation_join(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.rotation_requests.join(ctx.actor, args["duty"], args.get("series"))
    view = await ctx.services.rotation.show(ctx.actor.workspace_id, series.slug)
    # The member's own turns, not the whole table (/rotation show has that).
    joined = f"You joined the {DUTY_WORDS[args['duty']]} roster of {series.name}."
    text = joined + "\n" + own_turns(view, ctx.actor.member_id)
    return Reply(text=text, ephemeral=True, data={"rotation": rotation_data(view)},
                 moments=tuple(o.starts_at for o, _a, _s in view.upcoming))


def own_turns(view: RotationView, member: str) -> str:
    """The member's turns among the upcoming meetings, each marked provisional until its agenda closes."""
    lines = []
    for occurrence, assignment, _skipped in view.upcoming:
        duties = [word for word, who in (("host", assignment.host.member), ("note-taker", assignment.notes.member))
                  if who == member and not assignment.cancelled]
        if duties:
            mark = "" if assignment.fixed else " (provisional)"
            lines.append(f"- {format_home(occurrence.starts_at, view.series.timezone)}: {' and '.join(duties)}{mark}")
    if not lines:
        return (f"You have no turn among the next {len(view.upcoming)} meetings yet; members who served least go "
                "first. /rotation show shows the whole table.")
    return "Your next turns:\n" + "\n".join(lines) + "\n/rotation show shows the whole table."


@REGISTRY.command("rotation leave", "Leave the host or notes roster of a series.", DUTY, SERIES)
async def rotation_leave(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series = await ctx.services.rotation_requests.leave(ctx.actor, args["duty"], args.get("series"))
    return await _show(ctx, series.slug, f"You left the {DUTY_WORDS[args['duty']]} roster of {series.name}.")


@REGISTRY.command("rotation skip", "Say you can't make a meeting: the next fair member takes your turn.",
                  WHEN, SERIES)
async def rotation_skip(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    series, occurrence = await ctx.services.rotation_requests.skip(ctx.actor, args["date"], args.get("series"))
    return await _show(ctx, series.slug,
                       f"Noted: you skip {format_home(occurrence.starts_at, series.timezone)}.")


@REGISTRY.command("rotation swap", "Offer your turn on a date to another member; they must accept.",
                  WHEN, MEMBER, SERIES)
async def rotation_swap(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    target = ctx.resolve_member(args["member"])
    swap = await ctx.services.rotation_requests.swap(ctx.actor, args["date"], target, args.get("series"))
    text = (f"Swap #{swap.number} proposed: {swap.to_name} to be {DUTY_WORDS[swap.duty]} on "
            f"{swap.local_date:%a %Y-%m-%d} instead of {swap.from_name}. {swap.to_name} accepts with "
            f"/rotation accept #{swap.number}.")
    return Reply(text=text, ephemeral=False, data={"swap": {"id": swap.id, "number": swap.number,
                                                             "date": swap.local_date.isoformat(),
                                                             "duty": swap.duty, "status": swap.status}})


@REGISTRY.command(
    "rotation accept", "Accept a swap offered to you.",
    Option("swap", Kind.REF, "The swap's number, like #3 (see /rotation show).", required=True, positional=True,
           autocomplete="swap", placeholder="#<swap>"),
)
async def rotation_accept(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    swap, series = await ctx.services.rotation_requests.accept(ctx.actor, args["swap"])
    return await _show(ctx, series.slug, f"Swap #{swap.number} accepted: {swap.to_name} is {DUTY_WORDS[swap.duty]} on "
                                         f"{swap.local_date:%a %Y-%m-%d} instead of {swap.from_name}.",
                       ephemeral=False)


@REGISTRY.command("rotation assign", "Assign the host or note-taker of a meeting directly (chair).",
                  WHEN, DUTY, MEMBER, SERIES, chair_only=True)
async def rotation_assign(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    member = ctx.resolve_member(args["member"])
    occurrence = await ctx.services.rotation_requests.assign(ctx.actor, args["date"], args["duty"], member,
                                                             args.get("series"))
    series = await ctx.services.meetings.resolve_series(ctx.actor.workspace_id, args.get("series"))
    return await _show(ctx, series.slug,
                       f"Assigned {member.split(':')[-1]} as {DUTY_WORDS[args['duty']]} of "
                       f"{format_home(occurrence.starts_at, series.timezone)}.", ephemeral=False)


@REGISTRY.command("rotation volunteer", "Take the host or note-taker turn of a meeting yourself, before it is fixed.",
                  WHEN, DUTY, SERIES)
async def rotation_volunteer(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    occurrence = await ctx.services.rotation_requests.volunteer(ctx.actor, args["date"], args["duty"],
                                                                args.get("series"))
    series = await ctx.services.meetings.resolve_series(ctx.actor.workspace_id, args.get("series"))
    return await _show(ctx, series.slug,
                       f"Thank you: you are {DUTY_WORDS[args['duty']]} of "
                       f"{format_home(occurrence.starts_at, series.timezone)}.", ephemeral=False)
