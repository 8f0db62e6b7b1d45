"""Reading a linked topic's title and publication time for the agenda (bot/contracts/forum.py), with a
short timeout so a slow forum never holds up the member adding the item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.adapters.discourse.client import DiscourseClient
from bot.contracts.forum import ForumTopicInfo, ForumUnavailable
from bot.contracts.outbound import DeliveryError


class DiscourseTopics:
    def __init__(self, client: DiscourseClient, timeout: timedelta) -> None:
        self.client = client
        self.timeout = timeout.total_seconds()

    async def topic(self, topic_id: int) -> ForumTopicInfo | None:
        try:
            found = await self.client.topic(topic_id, seconds=self.timeout)
        except DeliveryError as exc:
            raise ForumUnavailable(str(exc)) from None
        if found is None:
            return None
        try:
            published = datetime.fromisoformat(str(found["created_at"]).replace("Z", "+00:00"))
            title = str(found.get("title") or found.get("fancy_title") or "")
        except (KeyError, ValueError):
            raise ForumUnavailable(f"the forum's answer for topic {topic_id} had no title or created_at") from None
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        return ForumTopicInfo(topic_id, title, published.astimezone(UTC))
