"""The outbox and its dispatcher.

Services write every outbound message with ``Outbox.enqueue(session, ...)`` inside the transaction of
the change that causes it, under an idempotency key: writing the same key twice does nothing. The
``OutboxDispatcher`` claims due rows with a lease (exactly one process holds a row; a crashed
process's claim runs out and the row is claimed again), sends each through the notifier of its
workspace's platform, and records the outcome: sent, retried later with backoff, failed after
``settings.reminders.max_attempts``, or missed when it became useless before it could be sent."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import platform_of
from bot.contracts.outbound import (
    OUTBOUND_KINDS,
    SERVICE_OF_KIND,
    DeliveryError,
    DirectMessagesClosed,
    Notifier,
    OutboundKind,
    OutboundMessage,
    outbound_kind,
)
from bot.contracts.reply import Reply, reply_from_json, reply_to_json
from bot.rules.reminders import backoff
from storage.db import AsyncSession, Database
from storage.queries import outbox as q

log = logging.getLogger("quorum.outbox")

DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_BATCH = 200
DEFAULT_CONCURRENCY = 64
# Pruning sent rows (``OutboxDispatcher.prune``): at most this often, in transactions of this many rows,
# and at most this many transactions per tick, so a tick's cost stays bounded however much is old.
PRUNE_EVERY = timedelta(hours=1)
PRUNE_BATCH = 500
PRUNE_BATCHES_PER_TICK = 10


class Outbox:
    """Writing messages. Every call takes the caller's session, so the message commits (or not) with
    the change that caused it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._listeners: list[Callable[[], None]] = []

    def on_enqueued(self, listener: Callable[[], None]) -> None:
        """``listener()`` is called by ``written()``: the app wakes the dispatcher so a message a
        command wrote is sent at once rather than at the next regular tick."""
        self._listeners.append(listener)

    def written(self) -> None:
        """Call after the transaction that enqueued messages committed (not before: the dispatcher
        would find nothing yet)."""
        for listener in self._listeners:
            listener()

    async def enqueue(
        self,
        session: AsyncSession,
        *,
        key: str,
        workspace_id: str,
        kind: OutboundKind,
        target: str,
        reply: Reply,
        due_at: datetime | None = None,
        fallback_channel: str | None = None,
        expires_at: datetime | None = None,
        status: str = "pending",
    ) -> bool:
        """Write one message; True when written, False when a message with ``key`` already exists (so a
        retried request or a second replica never writes it twice). ``expires_at``: after it the message
        is pointless and is marked missed instead of sent late."""
        if kind not in OUTBOUND_KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        now = self.clock.now()
        due = due_at or now
        return await q.insert_message(session, {
            "key": key, "workspace_id": workspace_id, "kind": kind, "target": target,
            "payload": json.dumps(reply_to_json(reply), ensure_ascii=False, sort_keys=True),
            "fallback_channel": fallback_channel, "due_at": due, "expires_at": expires_at, "status": status,
            "attempts": 0, "claimed_by": None, "lease_until": None, "next_attempt_at": due,
            "sent_at": None, "last_error": None, "platform_ref": None, "created_at": now,
        })


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    missed: int = 0
    fallbacks: int = 0
    keys_sent: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.missed += other.missed
        self.fallbacks += other.fallbacks
        self.keys_sent.extend(other.keys_sent)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class OutboxDispatcher:
    """Claims and sends due messages. Several dispatchers (threads of one process, or replicas on one
    PostgreSQL) may run at once: each row is claimed by exactly one of them."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        notifiers: dict[str, Notifier],
        *,
        worker: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        workspace_id: str | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        # Shared with Services.notifiers (filled by app.py), so adapters that start later are seen.
        self.notifiers = notifiers
        self.worker = worker or default_worker_name()
        self.lease = lease
        self.batch = batch
        # Only this workspace's messages (``quorum console --tick``); None: every workspace.
        self.workspace_id = workspace_id
        # Where the channel post replacing an undeliverable DM is written: the app's outbox (bot/app.py),
        # whose listeners wake the ticker so the post goes out at once.
        self.outbox = outbox or Outbox(clock)
        self._limit = asyncio.Semaphore(concurrency)
        self._next_prune: datetime | None = None  # None: on the next call

    async def claim(self, limit: int | None = None) -> list[q.Claimed]:
        """Claim up to ``limit`` due rows for this worker until its lease runs out."""
        async with self.db.write() as session:
            return await q.claim_due(session, self.worker, self.clock.now(), self.lease, limit or self.batch,
                                     self.workspace_id)

    async def dispatch_due(self, *, max_batches: int | None = None) -> DispatchReport:
        """Send everything due now, batch after batch, until nothing due is left. Recording a batch's
        outcomes and claiming the next batch share one transaction."""
        report = DispatchReport()
        claimed = await self.claim()
        batches = 0
        while claimed:
            outcomes, fallbacks, sent = await self._send_all(claimed)
            report.add(sent)
            batches += 1
            more = max_batches is None or batches < max_batches
            async with self.db.write() as session:
                await self._record(session, outcomes, fallbacks)
                claimed = (await q.claim_due(session, self.worker, self.clock.now(), self.lease, self.batch,
                                             self.workspace_id) if more else [])
        return report

    async def deliver(self, claimed: list[q.Claimed]) -> DispatchReport:
        """Send claimed rows and record every outcome in one transaction."""
        outcomes, fallbacks, report = await self._send_all(claimed)
        async with self.db.write() as session:
            await self._record(session, outcomes, fallbacks)
        return report

    async def _send_all(
        self, claimed: list[q.Claimed]
    ) -> tuple[list[dict[str, Any]], list[tuple[q.Claimed, Reply]], DispatchReport]:
        """Send claimed rows concurrently (bounded); return their outcomes, DM fallbacks to write, counts."""
        report = DispatchReport()
        now = self.clock.now()
        outcomes: list[dict[str, Any]] = []
        fallbacks: list[tuple[q.Claimed, Reply]] = []
        live: list[q.Claimed] = []
        for row in claimed:
            if row.expires_at is not None and row.expires_at <= now:
                outcomes.append(_outcome(row, "missed", now, error="not sent before it stopped being useful"))
                report.missed += 1
                log.warning("outbox %s missed: due %s, useless after %s", row.key, row.due_at, row.expires_at)
            else:
                live.append(row)
        results = await asyncio.gather(*(self._send(row) for row in live))
        sent_at = self.clock.now()
        for row, (ref, error) in zip(live, results, strict=True):
            if error is None:
                outcomes.append(_outcome(row, "sent", sent_at, ref=ref))
                report.sent += 1
                report.keys_sent.append(row.key)
            elif isinstance(error, DirectMessagesClosed) and row.kind == "dm" and row.fallback_channel:
                outcomes.append(_outcome(row, "failed", sent_at,
                                         error=f"{error}; mentioned in channel {row.fallback_channel} instead"))
                fallbacks.append((row, reply_from_json(json.loads(row.payload))))
                report.fallbacks += 1
                log.info("outbox %s: DMs closed for %s, falling back to a mention in %s",
                         row.key, row.target, row.fallback_channel)
            elif error.transient and row.attempts < self.settings.reminders.max_attempts:
                wait = backoff(row.attempts, error.retry_after)
                outcomes.append(_outcome(row, "pending", sent_at, error=str(error), retry_at=sent_at + wait))
                report.retried += 1
                log.info("outbox %s attempt %d failed (%s); retrying in %s", row.key, row.attempts, error, wait)
            else:
                outcomes.append(_outcome(row, "failed", sent_at, error=str(error)))
                report.failed += 1
                log.error("outbox %s gave up after %d attempt(s): %s (to %s in %s)", row.key, row.attempts,
                          error, row.target, row.workspace_id)
        return outcomes, fallbacks, report

    async def _record(self, session: AsyncSession, outcomes: list[dict[str, Any]],
                      fallbacks: list[tuple[q.Claimed, Reply]]) -> None:
        await q.finish(session, self.worker, outcomes)
        for row, reply in fallbacks:
            assert row.fallback_channel is not None
            await self.outbox.enqueue(
                session, key=f"fallback:{row.key}", workspace_id=row.workspace_id, kind="channel",
                target=row.fallback_channel, reply=mention_reply(row.target, reply), due_at=self.clock.now(),
                expires_at=row.expires_at,
            )

    async def _send(self, row: q.Claimed) -> tuple[str | None, DeliveryError | None]:
        kind = outbound_kind(row.kind)
        if kind is None:
            return None, DeliveryError(f"unknown message kind '{row.kind}'", transient=False)
        # Public-record posts go to their service (the forum), the rest to the workspace's platform.
        platform = SERVICE_OF_KIND.get(kind) or platform_of(row.workspace_id)
        notifier = self.notifiers.get(platform)
        if notifier is None:
            return None, DeliveryError(f"no {platform} notifier is running (is the {platform} adapter on?)")
        message = OutboundMessage(
            id=row.id, key=row.key, workspace_id=row.workspace_id, kind=kind, target=row.target,
            reply=reply_from_json(json.loads(row.payload)), fallback_channel=row.fallback_channel,
        )
        async with self._limit:
            try:
                return await notifier.send(message), None
            except DeliveryError as exc:
                return None, exc
            except Exception as exc:  # a notifier bug must not lose the row: record it and retry
                log.exception("notifier %s raised on outbox %s", platform, row.key)
                return None, DeliveryError(f"{type(exc).__name__}: {exc}")

    async def prune(self) -> int:
        """Delete sent messages older than ``settings.outbox.retention`` (see ``q.prune_sent`` for which
        ones, and why none of them can be written again). Runs at most every ``PRUNE_EVERY``, in small
        transactions; when more are left than one call deletes, the next call goes on. Returns how many
        were deleted."""
        now = self.clock.now()
        if self.workspace_id is not None or (self._next_prune is not None and now < self._next_prune):
            return 0
        before = now - self.settings.outbox.retention
        deleted = 0
        self._next_prune = now + PRUNE_EVERY
        for _ in range(PRUNE_BATCHES_PER_TICK):
            async with self.db.write() as session:
                count = await q.prune_sent(session, before, PRUNE_BATCH)
            deleted += count
            if count < PRUNE_BATCH:
                break
        else:
            self._next_prune = None  # more to delete: go on at the next tick
        if deleted:
            log.info("outbox: deleted %d sent message(s) older than %s", deleted, self.settings.outbox.retention)
        return deleted

    async def next_wakeup(self) -> datetime | None:
        async with self.db.read() as session:
            return await q.next_pending_at(session)


def mention_reply(member_id: str, reply: Reply) -> Reply:
    """The channel post that replaces a DM a member could not receive. ``mention`` names the member for
    notifiers to render as a platform mention at the start of the post (``data`` names them too, for
    ``--json`` readers and posts stored before the typed field)."""
    return Reply(
        text=f"{member_id}: (your direct messages are closed, so here instead) {reply.text}",
        ephemeral=False, title=reply.title, fields=reply.fields, moments=reply.moments,
        data={**reply.data, "mention": member_id}, kind=reply.kind, mention=member_id,
    )


def _outcome(row: q.Claimed, status: str, now: datetime, *, ref: str | None = None, error: str | None = None,
             retry_at: datetime | None = None) -> dict[str, Any]:
    return {
        "row_id": row.id, "status": status, "sent_at": now if status == "sent" else None,
        "last_error": error[:2000] if error else None, "platform_ref": ref,
        "next_attempt_at": retry_at or now,
    }


async def outbox_report(db: Database, limit: int = 20) -> str:
    """For operators (``quorum outbox``): how many messages are in each state, and the latest that were
    given up or missed, with why."""
    async with db.read() as session:
        counts = await q.count_by_status(session)
        latest = await q.problems(session, limit)
    lines = ["Outbox: " + ", ".join(f"{status} {n}" for status, n in counts.items())]
    if latest:
        lines.append(f"Latest failed or missed (up to {limit}):")
        lines.extend(f"  {row.status:7} {row.due_at:%Y-%m-%d %H:%M}Z {row.kind} to {row.target or '-'} "
                     f"({row.workspace_id}) after {row.attempts} attempt(s): {row.last_error or ''} [{row.key}]"
                     for row in latest)
    return "\n".join(lines) + "\n"
