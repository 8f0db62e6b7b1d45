"""The one registry of commands: path, typed options, help and handler. The text grammar (Slack and
console), the help text and the Discord app-command tree are all generated from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.commands.options import Option
from bot.contracts.reply import Reply

if TYPE_CHECKING:
    from bot.commands.dispatcher import CommandContext

Handler = Callable[["CommandContext", Mapping[str, Any]], Awaitable[Reply]]

GROUPS: dict[str, str] = {
    "meeting": "Standing meetings: the next one, upcoming ones, series, one-offs, cancellations",
    "agenda": "The agenda of a meeting: add, list, remove and reorder items",
    "rotation": "Who hosts and who takes notes",
    "notes": "Notes, decisions and action items of a meeting, and its minutes",
    "vote": "Binding votes: open, cast, status, list, close",
    "calendar": "Calendar subscription links",
    "me": "Your own settings: time zone and reminders",
    "quorum": "Help",
}


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    summary: str
    options: tuple[Option, ...]
    handler: Handler
    chair_only: bool = False
    # Needs the member's roles as the platform reports them, so on Discord it is guild-only.
    needs_roles: bool = False
    details: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def group(self) -> str:
        return self.path[0]

    def usage(self) -> str:
        return "/" + " ".join([*self.path, *(o.usage() for o in self.positional_options()),
                              *(o.usage() for o in self.keyword_options())])

    def positional_options(self) -> list[Option]:
        return [o for o in self.options if o.positional]

    def keyword_options(self) -> list[Option]:
        return [o for o in self.options if not o.positional]

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


class Registry:
    def __init__(self) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}

    def add(self, command: Command) -> None:
        if command.path in self._commands:
            raise ValueError(f"command /{command.name} registered twice")
        if command.group not in GROUPS:
            raise ValueError(f"command /{command.name} is in an unknown group")
        names = [o.name for o in command.options]
        if len(names) != len(set(names)):
            raise ValueError(f"command /{command.name} has two options with the same name")
        self._commands[command.path] = command

    def command(
        self,
        path: str,
        summary: str,
        *options: Option,
        chair_only: bool = False,
        needs_roles: bool = False,
        details: str = "",
    ) -> Callable[[Handler], Handler]:
        """Decorator registering a handler under a space-separated path such as ``"agenda add"``."""

        def register(handler: Handler) -> Handler:
            self.add(Command(tuple(path.split()), summary, tuple(options), handler, chair_only,
                             needs_roles or chair_only, details))
            return handler

        return register

    def get(self, path: tuple[str, ...]) -> Command | None:
        return self._commands.get(path)

    def all(self) -> list[Command]:
        return sorted(self._commands.values(), key=lambda c: c.path)

    def in_group(self, group: str) -> list[Command]:
        return [c for c in self.all() if c.group == group]

    def groups(self) -> list[str]:
        present = {c.group for c in self._commands.values()}
        return [g for g in GROUPS if g in present]

    def longest_match(self, words: Iterable[str]) -> tuple[Command | None, int]:
        """The command whose path is the longest prefix of ``words``, and its length."""
        lowered = [w.lower() for w in words]
        for length in range(min(4, len(lowered)), 0, -1):
            found = self._commands.get(tuple(lowered[:length]))
            if found:
                return found, length
        return None, 0

    def paths_starting(self, prefix: tuple[str, ...]) -> list[Command]:
        return [c for c in self.all() if c.path[: len(prefix)] == prefix]


REGISTRY = Registry()
