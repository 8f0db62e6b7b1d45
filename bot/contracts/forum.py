"""What the services may ask of the forum while a member waits: a linked topic's title and when it was
published (adding an agenda item). Delivered by bot/adapters/discourse/topics.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ForumTopicInfo:
    topic_id: int
    title: str
    published_at: datetime


class ForumUnavailable(Exception):
    """The forum did not answer (down, slow, refused the key): the item is added with a note instead."""


class ForumTopics(Protocol):
    async def topic(self, topic_id: int) -> ForumTopicInfo | None:
        """The topic, or None when the forum says it does not exist. Raises ``ForumUnavailable`` when the
        forum cannot say within its short timeout."""
        ...
