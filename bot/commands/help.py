"""/quorum help: generated from the registry, so it always matches the commands that exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.dispatcher import CommandContext
from bot.commands.options import Kind, Option
from bot.commands.registry import GROUPS, Registry
from bot.commands.registry import REGISTRY as _REGISTRY
from bot.contracts.reply import Reply
from bot.errors import NotFound


def help_text(registry: Registry, topic: str | None) -> str:
    if not topic:
        lines = ["Quorum runs this community's meetings and votes. Commands:"]
        for group in registry.groups():
            lines.append(f"/{group}: {GROUPS[group]}")
            lines.extend(f"  {c.usage()}{'  (chair)' if c.chair_only else ''}" for c in registry.in_group(group))
        lines.append("/quorum help <command> explains one command, e.g. /quorum help agenda add.")
        return "\n".join(lines)
    words = tuple(topic.lstrip("/").lower().split())
    command = registry.get(words)
    if command is not None:
        lines = [command.usage(), command.summary]
        if command.chair_only:
            lines.append("Only chairs may run it.")
        for option in command.options:
            need = "required" if option.required else "optional"
            choices = f" One of: {', '.join(option.choices)}." if option.kind is Kind.CHOICE else ""
            lines.append(f"  {option.usage()}: {option.help}{choices} ({need})")
        if command.details:
            lines.append(command.details)
        return "\n".join(lines)
    matches = registry.paths_starting(words)
    if not matches:
        raise NotFound(f"There is no command '/{' '.join(words)}': /quorum help lists them all.")
    return "\n".join([f"/{' '.join(words)}: {GROUPS.get(words[0], '')}",
                      *(f"  {c.usage()}: {c.summary}" for c in matches)])


@_REGISTRY.command(
    "quorum help", "List the commands, or explain one.",
    Option("command", Kind.TEXT, "A command such as \"agenda add\".", positional=True, placeholder="command",
           greedy=True),
)
async def quorum_help(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    return Reply(text=help_text(ctx.registry, args.get("command")), kind="help")
