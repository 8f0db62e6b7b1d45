"""Agenda rules: when items may be added or removed, and reordering."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.errors import InvalidInput

MAX_ITEMS_PER_MEETING = 50


def agenda_open(now: datetime, deadline: datetime) -> bool:
    """Items may be added strictly before the deadline instant."""
    return now < deadline


def reorder(item_ids: Sequence[int], item_id: int, position: int) -> list[int]:
    """The item ids after moving ``item_id`` to 1-based ``position``; others keep their order."""
    if item_id not in item_ids:
        raise ValueError(item_id)
    if not 1 <= position <= len(item_ids):
        raise InvalidInput(f"Position {position} is not on this agenda: choose 1 to {len(item_ids)}.")
    rest = [i for i in item_ids if i != item_id]
    rest.insert(position - 1, item_id)
    return rest
