"""Fakes at the platform boundary for reminder tests: a notifier that records what it was asked to send."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from bot.clock import Clock
from bot.contracts.outbound import DeliveryError, OutboundMessage
from bot.services import Services
from bot.services.reminders import due_tick
from storage.models import OutboxMessage
from storage.queries import outbox as outbox_q


class RecordingNotifier:
    """Records every message with the clock's time; can refuse DMs to some members or fail."""

    def __init__(self, clock: Clock, platform: str = "console") -> None:
        self.platform = platform
        self.clock = clock
        self.sent: list[tuple[datetime, OutboundMessage]] = []
        self.closed_dms: set[str] = set()
        self.failures: list[DeliveryError] = []  # raised (in order) before anything is sent
        self.yield_each = False
        self._taken = 0

    async def send(self, message: OutboundMessage) -> str | None:
        if self.yield_each:
            await asyncio.sleep(0)  # let another dispatcher interleave
        if self.failures:
            raise self.failures.pop(0)
        if message.kind == "dm" and message.target in self.closed_dms:
            from bot.contracts.outbound import DirectMessagesClosed

            raise DirectMessagesClosed()
        self.sent.append((self.clock.now(), message))
        return f"ref-{message.id}"

    def keys(self) -> list[str]:
        return [m.key for _, m in self.sent]

    def assert_each_once(self) -> None:
        dupes = [k for k, n in Counter(self.keys()).items() if n > 1]
        assert not dupes, f"sent more than once: {dupes}"

    def take(self) -> list[OutboundMessage]:
        """The messages sent since the last take."""
        taken = [m for _, m in self.sent[self._taken:]]
        self._taken = len(self.sent)
        return taken


def summary(messages: list[OutboundMessage]) -> list[tuple[str, str, str]]:
    """(kind, target, what) with ``what`` the last part of the key: announce, agenda-closing, or the offset."""
    found = []
    for m in messages:
        found.append((m.kind, m.target, m.key.rsplit(":", 1)[-1]))
    return sorted(found)


async def tick(services: Services) -> datetime | None:
    return await due_tick(services.reminders, services.outbox_dispatcher)


async def outbox_rows(services: Services) -> dict[str, OutboxMessage]:
    async with services.db.read() as session:
        return {r.key: r for r in await outbox_q.all_messages(session)}
