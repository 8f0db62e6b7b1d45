"""Every command module, imported so each registers its commands; ``REGISTRY`` is then complete."""

from bot.commands import (  # noqa: F401  (registration by import)
    agenda,
    calendar,
    help,
    me,
    meeting,
    notes,
    reminders,
    rotation,
    vote,
)
from bot.commands.registry import REGISTRY

__all__ = ["REGISTRY"]
