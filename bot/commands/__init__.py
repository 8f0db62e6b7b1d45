"""The command registry and its handlers. Importing this package registers every command."""

from bot.commands import agenda, help, me, meeting, reminders  # noqa: F401  (registration by import)
from bot.commands.registry import REGISTRY

__all__ = ["REGISTRY"]
