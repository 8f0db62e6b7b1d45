"""The forum's outbox notifier. Every send is an idempotent "make the forum show this":

- ``forum_topic`` (target: the topic's external id): open the topic with that ``external_id`` if the forum
  has none, else bring its title and first post up to date. A retry, a restart or a second replica that
  sends it again finds the topic (or is refused with 422 by the forum) and edits instead of opening a
  second one.
- ``forum_post`` (target ``ext:<external id>`` or ``id:<topic id>``): the reply carrying the message's
  marker (a hidden HTML comment in its markdown) is edited if the topic has one by our user, else the
  reply is posted. Discourse replies take no idempotency key, so the marker is how a repeated send finds
  the post it already made.

It returns ``"<topic id>:<post id>"`` as the platform reference.

Rate limits: at most ``MAX_CONCURRENT`` sends talk to the forum at once (Discourse limits admin API keys to
60 requests a minute by default), and once the forum answers 429 every send waits out its ``Retry-After``
(refused at once, as a retry at the right time) instead of each message meeting the limit again."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.discourse.client import DiscourseClient, ForumRefused
from bot.clock import Clock
from bot.contracts.outbound import DeliveryError, OutboundMessage

log = logging.getLogger("quorum.forum")

MAX_CONCURRENT = 4


def marker_comment(marker: str) -> str:
    """The hidden line that names a post (Discourse does not render HTML comments)."""
    return f"<!-- quorum:{marker} -->"


class ForumNotifier:
    platform = "forum"

    def __init__(self, client: DiscourseClient, default_category: str | None, clock: Clock) -> None:
        self.client = client
        self.default_category = default_category
        self.clock = clock
        self._categories: dict[str, int] = {}
        self._limit = asyncio.Semaphore(MAX_CONCURRENT)
        self._paused_until: datetime | None = None

    async def send(self, message: OutboundMessage) -> str | None:
        async with self._limit:
            now = self.clock.now()
            if self._paused_until is not None and now < self._paused_until:
                wait = (self._paused_until - now).total_seconds()
                raise DeliveryError("the forum asked to slow down; waiting", transient=True, retry_after=wait)
            try:
                if message.kind == "forum_topic":
                    return await self._topic(message)
                if message.kind == "forum_post":
                    return await self._post(message)
            except DeliveryError as exc:
                if exc.retry_after:
                    self._paused_until = self.clock.now() + timedelta(seconds=exc.retry_after)
                raise
        raise DeliveryError(f"the forum cannot deliver a '{message.kind}' message", transient=False)

    async def _category(self, wanted: str | None) -> int | None:
        wanted = wanted or self.default_category
        if not wanted:
            return None
        if wanted not in self._categories:
            self._categories[wanted] = await self.client.category_id(wanted)
        return self._categories[wanted]

    async def _topic(self, message: OutboundMessage) -> str:
        external_id = message.target
        title = message.reply.title or message.reply.text.splitlines()[0][:200]
        raw = message.reply.text
        topic = await self.client.topic_by_external_id(external_id)
        if topic is None:
            category = await self._category(message.reply.data.get("category"))
            try:
                created = await self.client.create_topic(title=title, raw=raw, category=category,
                                                         external_id=external_id)
            except ForumRefused as refused:
                if refused.status != 422:
                    raise
                # Someone (another replica, an earlier attempt whose answer was lost) opened it first.
                topic = await self.client.topic_by_external_id(external_id)
                if topic is None:
                    raise
            else:
                log.info("forum: opened topic %s (%s) for outbox %s", created.get("topic_id"), external_id,
                         message.key)
                return f"{created.get('topic_id')}:{created.get('id')}"
        return await self._update_topic(topic, title, raw)

    async def _update_topic(self, topic: dict[str, Any], title: str, raw: str) -> str:
        topic_id = int(topic["id"])
        first = next((p for p in await self.client.posts_of(topic) if p.get("post_number") == 1), None)
        if first is None:
            raise DeliveryError(f"forum topic {topic_id} has no first post to edit", transient=False)
        if topic.get("title") != title:
            await self.client.set_title(topic_id, title)
        if first.get("raw") != raw:  # an unchanged body is not edited (no empty revision)
            await self.client.edit_post(int(first["id"]), raw)
        return f"{topic_id}:{first['id']}"

    async def _post(self, message: OutboundMessage) -> str:
        marker = str(message.reply.data.get("marker") or message.key)
        raw = f"{message.reply.text}\n\n{marker_comment(marker)}"
        topic = await self._target_topic(message.target)
        topic_id = int(topic["id"])
        for post in await self.client.posts_of(topic):
            if post.get("username") != self.client.username or post.get("post_number") == 1:
                continue
            if marker_comment(marker) in str(post.get("raw", "")):
                if post.get("raw") != raw:
                    await self.client.edit_post(int(post["id"]), raw)
                return f"{topic_id}:{post['id']}"
        created = await self.client.reply(topic_id, raw)
        log.info("forum: replied in topic %s (outbox %s)", topic_id, message.key)
        return f"{topic_id}:{created.get('id')}"

    async def _target_topic(self, target: str) -> dict[str, Any]:
        scheme, _, value = target.partition(":")
        if scheme == "ext":
            topic = await self.client.topic_by_external_id(value)
            if topic is None:  # its topic is still being opened (an earlier outbox row): try again later
                raise DeliveryError(f"the forum has no topic '{value}' yet", transient=True)
            return topic
        if scheme == "id" and value.isdigit():
            topic = await self.client.topic(int(value))
            if topic is None:
                raise DeliveryError(f"forum topic {value} does not exist (deleted?)", transient=False)
            return topic
        raise DeliveryError(f"not a forum topic reference: '{target}'", transient=False)
