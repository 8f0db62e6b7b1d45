"""De-duplication of platform requests: Slack retries an event or an interaction it thinks was lost,
and the retry must not repeat what the first delivery did."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock
from storage.db import Database
from storage.queries import requests as q

MAX_KEY_LENGTH = 200
# Slack retries within minutes; a day is plenty, and keeps the table small.
KEEP_FOR = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)
# Old keys are deleted this many at a time, inside a member's request: a bounded cost however many piled up
# (after an outage, say); a backlog goes with the following requests.
PRUNE_BATCH = 500


class RequestLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._pruned_at: datetime | None = None

    async def first_time(self, key: str) -> bool:
        """Claim ``key`` (e.g. ``slack:T1:trigger:123.456``); False when it was claimed before."""
        now = self.clock.now()
        async with self.db.write() as session:
            first = await q.claim_request(session, key[:MAX_KEY_LENGTH], now)
            due = self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY
            # A full batch means more are left: go on with the next request rather than wait an hour.
            if due and await q.forget_requests_before(session, now - KEEP_FOR, PRUNE_BATCH) < PRUNE_BATCH:
                self._pruned_at = now
        return first
