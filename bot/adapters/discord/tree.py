"""The app-command tree, generated from the command registry so Discord always offers exactly the
commands (and typed options) the text grammar knows. Values reach ``Dispatcher.run`` as strings, so
parsing and validation are the same on every platform."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import discord
from discord import app_commands

from bot.commands.options import Kind, Option
from bot.commands.registry import GROUPS, Command, Registry

# Runs a command for an interaction with the typed values Discord delivered.
CommandRunner = Callable[[discord.Interaction, Command, Mapping[str, Any]], Awaitable[None]]
# Suggestions for an option: (interaction, option's autocomplete source, what was typed so far).
Suggester = Callable[[discord.Interaction, str, str], Awaitable[list[app_commands.Choice[str]]]]

DESCRIPTION_LIMIT = 100


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def annotation(option: Option) -> Any:
    """The Python annotation discord.py turns into the option's Discord type."""
    match option.kind:
        case Kind.INT:
            if option.minimum is not None or option.maximum is not None:
                return app_commands.Range[int, option.minimum, option.maximum]
            return int
        case Kind.BOOL:
            return bool
        case Kind.MEMBER:
            return discord.User
        case _:
            return str


def as_raw(option: Option, value: Any) -> str:
    """The typed value back as the text the shared parser expects."""
    if isinstance(value, discord.User | discord.Member):
        return f"<@{value.id}>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _callback(command: Command, run: CommandRunner) -> Callable[..., Coroutine[Any, Any, None]]:
    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await run(interaction, command, values)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=discord.Interaction)]
    for option in command.options:
        parameters.append(inspect.Parameter(
            option.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation(option),
            **({} if option.required else {"default": None}),
        ))
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    # discord.py reads the qualified name to tell methods from functions.
    callback.__qualname__ = callback.__name__ = "quorum_" + "_".join(command.path).replace("-", "_")
    described = app_commands.describe(**{o.name: _short(o.help) for o in command.options})(callback)
    choices = {o.name: [app_commands.Choice(name=c, value=c) for c in o.choices[:25]]
               for o in command.options if o.kind is Kind.CHOICE and o.choices}
    if choices:
        described = app_commands.choices(**choices)(described)
    return described


BARE_COMMAND_NAME = "show"


def build_command(
    command: Command, run: CommandRunner, suggest: Suggester | None, name: str | None = None
) -> app_commands.Command[Any, ..., Any]:
    generated: app_commands.Command[Any, ..., Any] = app_commands.Command(
        name=name or command.path[-1], description=_short(command.summary), callback=_callback(command, run),
        extras={"quorum_path": command.path},
    )
    if suggest is not None:
        for option in command.options:
            if option.autocomplete:
                generated.autocomplete(option.name)(_suggester(suggest, option.autocomplete))
    return generated


def _suggester(
    suggest: Suggester, source: str
) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]:
    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return (await suggest(interaction, source, current))[:25]

    return autocomplete


def build_tree_commands(
    registry: Registry, run: CommandRunner, suggest: Suggester | None = None
) -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """One top-level entry per group (a one-word command stays a command); nested groups for
    three-word paths such as ``meeting series create``. A group whose every command needs roles is
    guild-only; other commands needing roles are refused in direct messages when run."""
    top: list[app_commands.Command[Any, ..., Any] | app_commands.Group] = []
    for group_name in registry.groups():
        commands = registry.in_group(group_name)
        singles = [c for c in commands if len(c.path) == 1]
        if singles and len(commands) == 1:
            generated = build_command(singles[0], run, suggest)
            generated.guild_only = singles[0].needs_roles
            top.append(generated)
            continue
        group = app_commands.Group(name=group_name, description=_short(GROUPS[group_name]),
                                   guild_only=all(c.needs_roles for c in commands))
        subgroups: dict[str, app_commands.Group] = {}
        for command in commands:
            if len(command.path) == 1:
                # Discord cannot invoke a group by itself (/calendar beside /calendar private): the bare
                # command becomes "/calendar show" there; Slack and the console keep "/calendar".
                if any(c.path[1:2] == (BARE_COMMAND_NAME,) for c in commands):
                    raise ValueError(f"/{group_name} {BARE_COMMAND_NAME} clashes with the bare /{group_name}")
                group.add_command(build_command(command, run, suggest, name=BARE_COMMAND_NAME))
                continue
            if len(command.path) == 2:
                group.add_command(build_command(command, run, suggest))
                continue
            if len(command.path) != 3:
                raise ValueError(f"/{command.name}: Discord commands are at most three words deep")
            sub = command.path[1]
            if sub not in subgroups:
                names = sorted({c.path[2] for c in commands if len(c.path) == 3 and c.path[1] == sub})
                subgroups[sub] = app_commands.Group(
                    name=sub, description=_short(f"/{group_name} {sub}: {', '.join(names)}"), parent=group)
            subgroups[sub].add_command(build_command(command, run, suggest))
        top.append(group)
    return top


def schema(registry: Registry) -> list[dict[str, Any]]:
    """The JSON Discord receives when the tree is synced, sorted by name (for the golden test)."""

    async def noop(interaction: discord.Interaction, command: Command, values: Mapping[str, Any]) -> None:
        return None

    async def no_suggestions(interaction: discord.Interaction, source: str,
                             current: str) -> list[app_commands.Choice[str]]:
        return []

    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(
        discord.Client(intents=discord.Intents.none()))
    for generated in build_tree_commands(registry, noop, no_suggestions):
        tree.add_command(generated)
    return sorted((c.to_dict(tree) for c in tree.get_commands()), key=lambda d: str(d["name"]))
