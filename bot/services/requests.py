"""De-duplication of platform requests: Slack retries an event or an interaction it thinks was lost,
and the retry must not repeat what the first delivery did.

Slack also needs an acknowledgement within 3 seconds, before a command has run. So a request is first
recorded as *accepted*, with its payload, in the same write that claims its key (no extra round trip
before the ack); when it has run it is *done*. One still accepted when its lease runs out was interrupted
(the process was killed, or stopped before it finished): ``claim_interrupted`` hands it to be run again,
once, by whichever process asks first."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.clock import Clock
from storage.db import Database
from storage.queries import requests as q

log = logging.getLogger("quorum.requests")

MAX_KEY_LENGTH = 200
# Slack retries within minutes; a day is plenty, and keeps the table small.
KEEP_FOR = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)
# Old keys are deleted this many at a time, inside a member's request: a bounded cost however many piled up
# (after an outage, say); a backlog goes with the following requests.
PRUNE_BATCH = 500


# How long a process has to run an accepted request before another may run it again: far longer than any
# command takes, and well inside the 30 minutes Slack's response URL stays usable for the answer.
ACCEPT_LEASE = timedelta(minutes=2)
# A request still running after this is given up (it would soon be taken over and run again): well inside
# the lease, far beyond any command's few hundred milliseconds.
RUN_LIMIT = timedelta(seconds=90)
# An interrupted request is run again at most this many times in all (a request that kills its process
# every time must not do so forever).
MAX_RUNS = 3


class RequestLog:
    def __init__(self, db: Database, clock: Clock, replica: str = "quorum") -> None:
        self.db = db
        self.clock = clock
        # This process's stable name (bot/config.py ``replica_name``): requests it accepted in a previous
        # run are run again at its start, without waiting for their lease.
        self.replica = replica
        self.started_at = clock.now()
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

    async def accept(self, key: str, payload: str) -> bool:
        """Claim ``key`` for a request acknowledged before it runs, keeping ``payload`` to run it again if
        this process does not finish it; False when it was claimed before (a retry)."""
        now = self.clock.now()
        async with self.db.write() as session:
            return await q.accept_request(session, key[:MAX_KEY_LENGTH], now, payload, now + ACCEPT_LEASE,
                                          self.replica)

    async def finished(self, key: str) -> None:
        async with self.db.write() as session:
            await q.finish_request(session, key[:MAX_KEY_LENGTH], replica=self.replica)

    async def claim_interrupted(self, limit: int = 20) -> list[tuple[str, str]]:
        """(key, payload) of accepted requests whose process died before finishing them, for this process
        to run now; those already run ``MAX_RUNS`` times are given up (and logged) instead."""
        now = self.clock.now()
        async with self.db.write() as session:
            claimed = await q.claim_interrupted(session, now, now + ACCEPT_LEASE, limit, replica=self.replica,
                                                started_at=self.started_at)
            runnable = []
            for key, payload, runs in claimed:
                if runs > MAX_RUNS:
                    await q.finish_request(session, key, "failed")
                    log.error("request %s was interrupted %d times; giving it up", key, MAX_RUNS)
                else:
                    runnable.append((key, payload))
        return runnable
