"""/vote: open, cast, status, list and close binding votes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import REGISTRY
from bot.contracts.reply import Reply, VoteChoice
from bot.errors import Conflict
from bot.rules.time import relative
from bot.rules.votes import DEFAULT_RULE, RULE_IDS, VALUES
from bot.services.vote_render import electorate_reply, result_reply, vote_data, vote_message

VOTE = Option("vote", Kind.REF, "The vote's number, like #3 (see /vote list).", required=True, positional=True,
              autocomplete="vote", placeholder="#<vote>")
OPEN_VOTE = replace(VOTE, autocomplete="open_vote")


def _zones(ctx: CommandContext) -> tuple[str, ...]:
    return ctx.settings.default_display_zones or ("UTC",)


@REGISTRY.command(
    "vote open", "Open a binding vote (chair). The electorate is who holds the binding role now.",
    Option("title", Kind.TEXT, "What is being decided, in quotes.", required=True, positional=True,
           placeholder='"<title>"'),
    Option("link", Kind.LINK, "The forum thread or RFC being voted on."),
    Option("rule", Kind.CHOICE, f"How the vote is decided (default {DEFAULT_RULE}).", choices=RULE_IDS),
    Option("duration", Kind.DURATION, "How long it stays open (default 72h; shorter needs force=yes)."),
    Option("role", Kind.WORD, "The role whose members' votes are binding (default: the config's binding_role)."),
    Option("force", Kind.BOOL, "yes to open a vote shorter than 72h."),
    chair_only=True,
    details="Rules: " + "; ".join(RULE_IDS) + ". See /quorum help vote.",
)
async def vote_open(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.votes.open(
        ctx.actor, args["title"], link=args.get("link"), rule=args.get("rule", DEFAULT_RULE),
        duration=args.get("duration"), role=args.get("role"), force=bool(args.get("force", False)),
    )
    ctx.services.outbox.written()  # the forum's [VOTE] topic, if any, goes out now rather than at the next tick
    return vote_message(view, ctx.services.clock.now(), _zones(ctx))


@REGISTRY.command(
    "vote cast", "Vote +1, 0 or -1 (+0 and -0 count as 0); your latest vote counts until the vote closes.",
    OPEN_VOTE,
    Option("value", Kind.CHOICE, "Your vote: +1, +0, 0, -0 or -1.", required=True, positional=True,
           choices=VALUES, placeholder="<+1|+0|0|-0|-1>"),
    Option("comment", Kind.TEXT, "A comment in quotes; under consensus a -1 needs the reason here.",
           positional=True, placeholder='"comment"'),
)
async def vote_cast(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    try:
        result = await ctx.services.votes.cast_numbered(ctx.actor, args["vote"], args["value"], args.get("comment"))
    except Conflict as refused:
        return await _refused_on_closed_vote(ctx, args["vote"], refused)
    view, ballot = result.vote, result.ballot
    if result.change == "unchanged":
        head = f"Your vote on #{view.number} \"{view.title}\" is already {ballot.value}; nothing changed."
    elif result.change == "changed":
        head = f"Changed your vote on #{view.number} \"{view.title}\" from {result.previous} to {ballot.value}."
    else:
        head = f"Recorded your {ballot.value} on #{view.number} \"{view.title}\"."
    if ballot.binding:
        why = f"It is binding: you were in the {view.binding_role} electorate when the vote opened."
    else:
        why = (f"It is not binding: only those who held {view.binding_role} when the vote opened "
               f"({len(view.electorate)}) cast binding votes.")
        if ballot.comment and "binding" in ballot.comment.lower():
            why += " Writing \"(binding)\" in a comment does not change that."
    now = ctx.services.clock.now()
    tail = f"You can change it until the vote closes ({relative(view.closes_at, now)})."
    message = vote_message(view, now, _zones(ctx))
    # The refreshed message carries the same vote data: built once (every binding ballot's fields).
    return Reply(text=f"{head} {why} {tail}", kind="text", moments=(view.closes_at,), moment_labels=("vote closes",),
                 data={"vote": message.data["vote"], "ballot": {"voter": ballot.voter, "value": ballot.value,
                                                               "binding": ballot.binding, "change": result.change}},
                 refresh=message)


async def _refused_on_closed_vote(ctx: CommandContext, number: int, refused: Conflict) -> Reply:
    """A click on a vote message that closed since it was drawn (at its deadline, or by /vote close in
    another channel) is refused, and the message it was on is redrawn as the result, without buttons,
    so nobody else takes the vote for open."""
    view = await ctx.services.votes.summary(ctx.actor.workspace_id,
                                            await ctx.services.votes.id_of(ctx.actor.workspace_id, number))
    if view.is_open:
        raise refused
    return Reply.error(refused.message, refresh=result_reply(view, _zones(ctx)))


@REGISTRY.command("vote status", "Show a vote: the rule, the electorate, the tally so far or its result.", VOTE)
async def vote_status(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view = await ctx.services.votes.summary(ctx.actor.workspace_id,
                                            await ctx.services.votes.id_of(ctx.actor.workspace_id, args["vote"]))
    return replace(vote_message(view, ctx.services.clock.now(), _zones(ctx)), ephemeral=True)


@REGISTRY.command("vote electorate",
                  "Who is in a vote's electorate, and where each member's binding status came from.", VOTE)
async def vote_electorate(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    view, members = await ctx.services.votes.electorate(ctx.actor.workspace_id, args["vote"])
    return electorate_reply(view, members, _zones(ctx)[0])


@REGISTRY.command(
    "vote list", "List the votes of this workspace (open, closed, or all).",
    Option("state", Kind.CHOICE, "open or closed (default: both).", positional=True, choices=("open", "closed"),
           placeholder="open|closed"),
)
async def vote_list(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    views = await ctx.services.votes.list_votes(ctx.actor.workspace_id, args.get("state"))
    if not views:
        which = f"{args['state']} " if "state" in args else ""
        return Reply(text=f"No {which}votes yet: a chair opens one with /vote open \"<title>\".",
                     data={"votes": []})
    now = ctx.services.clock.now()
    lines = []
    for view in views:
        decision = view.decision()
        state = f"open, closes {relative(view.closes_at, now)}" if view.is_open else f"closed: {view.outcome}"
        lines.append(f"#{view.number} {view.title} [{state}] · {view.rule} · binding {decision.binding.words()}")
    return Reply(text="\n".join(lines), data={"votes": [vote_data(v) for v in views]},
                 votes=tuple(VoteChoice(v.number, v.title, v.is_open) for v in views))


@REGISTRY.command(
    "vote close", "Close a vote now (chair): once the whole electorate voted, or with force=yes.",
    OPEN_VOTE,
    Option("force", Kind.BOOL, "yes to close before every member of the electorate voted (the result says so)."),
    chair_only=True,
)
async def vote_close(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    vote_id = await ctx.services.votes.id_of(ctx.actor.workspace_id, args["vote"])
    view = await ctx.services.votes.close(ctx.actor, vote_id, bool(args.get("force", False)))
    return result_reply(view, _zones(ctx))
