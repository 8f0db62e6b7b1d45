"""The outbox and its dispatcher.

Services write every outbound message with ``Outbox.enqueue(session, ...)`` inside the transaction of
the change that causes it, under an idempotency key: writing the same key twice does nothing. The
``OutboxDispatcher`` claims due rows with a lease (exactly one process holds a row; a crashed
process's claim runs out and the row is claimed again), sends each through the notifier of its
workspace's platform, and records the outcome: sent, retried later with backoff, failed after
``settings.reminders.max_attempts``, or missed when it became useless before it could be sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
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
from bot.metrics import DELIVERIES, outbox_state
from bot.rules.reminders import backoff
from storage.db import AsyncSession, Database
from storage.models import OutboxMessage
from storage.queries import outbox as q

log = logging.getLogger("quorum.outbox")

DEFAULT_LEASE = timedelta(minutes=2)
# Rows claimed at once, per message that can be in flight: a claim is sent soon after it is taken, well within
# its lease, however slow the platform (claiming 200 for one slow sender let the lease run out mid-batch, and
# another replica sent the rest again).
CLAIM_PER_SLOT = 2
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
            "payload": encode_reply(reply),
            "fallback_channel": fallback_channel, "due_at": due, "expires_at": expires_at, "status": status,
            "attempts": 0, "claimed_by": None, "lease_until": None, "next_attempt_at": due,
            "sent_at": None, "last_error": None, "platform_ref": None, "created_at": now,
        })


def encode_reply(reply: Reply) -> str:
    """A reply as the outbox stores it (``payload``): so a stored row can be compared with what is wanted now."""
    return json.dumps(reply_to_json(reply), ensure_ascii=False, sort_keys=True)


async def supersede(session: AsyncSession, prefix: str, latest_key: str) -> list[OutboxMessage]:
    """Before writing ``latest_key``, a newer version of a post that edits the same thing (minutes
    republished: a GitHub comment, a forum reply): the older versions still waiting (the service was
    failing) are cancelled, so none lands after the new one and puts the old text back. Returns every
    version written so far (with what they sent: ``platform_ref``)."""
    rows = await q.with_prefix(session, prefix)
    for row in rows:
        if row.id is not None and row.key != latest_key and row.status == "pending":
            await q.update_unclaimed(session, row.id, {"status": "cancelled",
                                                       "last_error": "superseded by a version written later"})
    return rows


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
        batch: int | None = None,
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
        self.batch = batch or CLAIM_PER_SLOT * concurrency
        # Only this workspace's messages (``quorum console --tick``); None: every workspace.
        self.workspace_id = workspace_id
        # Where the channel post replacing an undeliverable DM is written: the app's outbox (bot/app.py),
        # whose listeners wake the ticker so the post goes out at once.
        self.outbox = outbox or Outbox(clock)
        self._limit = asyncio.Semaphore(concurrency)
        self._stopping = False
        self._in_flight = 0  # deliveries running; stop() waits for them
        self._sending: set[int] = set()  # rows inside notifier.send right now
        # This worker's claims being delivered (row id -> when the claim runs out, as last set). A claim lasts
        # ``lease``; a batch may take longer (rows wait their turn for a slot, a platform is slow), so the claims
        # are renewed every third of the lease while the process lives, and a row whose claim another worker
        # took over meanwhile is not sent here (``_still_claimed``). Otherwise both would send it.
        self._claims: dict[int, datetime] = {}
        # This worker's writes to the rows it claimed (outcomes, renewals, the release at a stop) one at a time:
        # two transactions updating overlapping rows in different orders can deadlock on PostgreSQL, and the
        # one it aborts could be an outcome (a sent message then left pending, to be sent again).
        self._row_writes = asyncio.Lock()
        self._idle = asyncio.Event()
        self._next_prune: datetime | None = None  # None: on the next call

    async def claim(self, limit: int | None = None) -> list[q.Claimed]:
        """Claim up to ``limit`` due rows for this worker until its lease runs out."""
        async with self.db.write() as session:
            return await q.claim_due(session, self.worker, self.clock.now(), self.lease, limit or self.batch,
                                     self.workspace_id)

    async def dispatch_due(self, *, max_batches: int | None = None) -> DispatchReport:
        """Send everything due now, batch after batch, until nothing due is left (or ``stop`` was called)."""
        report = DispatchReport()
        batches = 0
        while not self._stopping and (max_batches is None or batches < max_batches):
            claimed = await self.claim()
            if not claimed:
                break
            report.add(await self.deliver(claimed))
            batches += 1
        return report

    async def deliver(self, claimed: list[q.Claimed]) -> DispatchReport:
        """Send claimed rows concurrently (bounded), recording each outcome as soon as it is known: a crash
        can then repeat only the messages in flight at that moment, never a whole batch. Outcomes that
        arrive while one is being written are written together in the next transaction (a group commit),
        so recording keeps pace with sending. Rows not sent because ``stop`` was called are released."""
        report = DispatchReport()
        recorder = _Recorder(self._record)
        self._in_flight += 1
        self._idle.clear()
        try:
            now = self.clock.now()
            live: list[q.Claimed] = []
            for row in claimed:
                if row.expires_at is not None and row.expires_at <= now:
                    report.missed += 1
                    log.warning("outbox %s missed: due %s, useless after %s", row.key, row.due_at, row.expires_at)
                    recorder.add(row, _outcome(row, "missed", now, error="not sent before it stopped being useful"))
                else:
                    live.append(row)
            await recorder.flush()
            self._claims.update({row.id: row.lease_until for row in live})
            keeper = asyncio.create_task(self._keep_claims(), name="quorum-outbox-claims")
            try:
                # Every send runs to its end even if another's recording failed (none outlives the batch's
                # claims), then what is left is written; the first failure is raised after that.
                results = await asyncio.gather(*(self._deliver_one(row, recorder, report) for row in live),
                                               return_exceptions=True)
                await recorder.flush()
                failure = next((r for r in results if isinstance(r, BaseException)), None)
                if failure is not None:
                    raise failure
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
                for row in live:
                    self._claims.pop(row.id, None)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()
        return report

    async def _deliver_one(self, row: q.Claimed, recorder: _Recorder, report: DispatchReport) -> None:
        sent = await self._send(row)
        if sent is None:  # stopping (released by stop()), or taken over by another worker: not sent, not recorded
            return
        self._claims.pop(row.id, None)  # its outcome is written next: nothing left to renew
        ref, error = sent
        sent_at = self.clock.now()
        if error is None:
            report.sent += 1
            report.keys_sent.append(row.key)
            recorder.add(row, _outcome(row, "sent", sent_at, ref=ref))
        elif isinstance(error, DirectMessagesClosed) and row.kind == "dm" and row.fallback_channel:
            report.fallbacks += 1
            log.info("outbox %s: DMs closed for %s, falling back to a mention in %s",
                     row.key, row.target, row.fallback_channel)
            recorder.add(row, _outcome(row, "failed", sent_at,
                                       error=f"{error}; mentioned in channel {row.fallback_channel} instead"),
                         fallback=reply_from_json(json.loads(row.payload)))
        elif error.transient and row.attempts < self.settings.reminders.max_attempts:
            wait = backoff(row.attempts, error.retry_after)
            report.retried += 1
            log.info("outbox %s attempt %d failed (%s); retrying in %s", row.key, row.attempts, error, wait)
            recorder.add(row, _outcome(row, "pending", sent_at, error=str(error), retry_at=sent_at + wait))
        else:
            report.failed += 1
            log.error("outbox %s gave up after %d attempt(s): %s (to %s in %s)", row.key, row.attempts,
                      error, row.target, row.workspace_id)
            recorder.add(row, _outcome(row, "failed", sent_at, error=str(error)))
        await recorder.flush()

    async def _keep_claims(self) -> None:
        """While a batch is being delivered: renew its claims every third of the lease."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.renew_claims()
            except Exception:  # the database did not answer: the claims are checked again before each send
                log.exception("outbox: renewing this worker's claims failed; trying again")

    async def renew_claims(self, ids: list[int] | None = None) -> None:
        """Extend this worker's claims on the rows it is delivering (or on ``ids`` of them); forget those
        another worker took over after their lease ran out."""
        wanted = list(self._claims) if ids is None else [i for i in ids if i in self._claims]
        if not wanted:
            return
        now = self.clock.now()
        async with self._row_writes, self.db.write() as session:
            kept = await q.renew_claims(session, self.worker, wanted, now, self.lease)
        for row_id in wanted:
            if row_id in kept:
                self._claims[row_id] = now + self.lease
            else:
                self._claims.pop(row_id, None)

    async def _still_claimed(self, row: q.Claimed) -> bool:
        """Whether this worker may send ``row`` now: its claim has a third of the lease left, or is renewed."""
        until = self._claims.get(row.id)
        if until is not None and self.clock.now() < until - self.lease / 3:
            return True
        await self.renew_claims([row.id])
        if row.id in self._claims:
            return True
        log.warning("outbox %s: its claim ran out before its turn and another worker took it over; not sent here",
                    row.key)
        return False

    async def stop(self, grace: timedelta) -> int:
        """A clean stop: send nothing new, let the messages in flight finish (for up to ``grace``)
        and be recorded, then release this worker's claims on rows it did not send, so another replica (or
        this one after its restart) sends them at once rather than when the lease runs out. Returns how
        many were released."""
        self._stopping = True
        if self._in_flight:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace.total_seconds()):
                    await self._idle.wait()
        # A send still running when the grace ran out may yet reach the platform: its row stays claimed (a
        # crash's rule: taken over after the lease), never handed to another replica to send again now.
        async with self._row_writes, self.db.write() as session:
            released = await q.release_claims(session, self.worker, keep=frozenset(self._sending))
        if released:
            log.info("outbox: released %d claimed message(s) not sent before the stop", released)
        return released

    async def _record(self, outcomes: list[Recorded]) -> None:
        """Write outcomes (and the channel posts replacing DMs that could not be delivered) in one
        transaction; count them once written."""
        async with self._row_writes, self.db.write() as session:
            await q.finish(session, self.worker, [outcome for _, outcome, _ in outcomes])
            for row, _, fallback in outcomes:
                if fallback is None:
                    continue
                assert row.fallback_channel is not None
                await self.outbox.enqueue(
                    session, key=f"fallback:{row.key}", workspace_id=row.workspace_id, kind="channel",
                    target=row.fallback_channel, reply=mention_reply(row.target, fallback),
                    due_at=self.clock.now(), expires_at=row.expires_at,
                )
        _count_deliveries(outcomes)

    async def _send(self, row: q.Claimed) -> tuple[str | None, DeliveryError | None] | None:
        """(platform reference, None) when sent, (None, error) when not; None when ``stop`` came first."""
        kind = outbound_kind(row.kind)
        if kind is None:
            return None, DeliveryError(f"unknown message kind '{row.kind}'", transient=False)
        platform = destination(row)
        notifier = self.notifiers.get(platform)
        if notifier is None:
            return None, DeliveryError(f"no {platform} notifier is running (is the {platform} adapter on?)")
        message = OutboundMessage(
            id=row.id, key=row.key, workspace_id=row.workspace_id, kind=kind, target=row.target,
            reply=reply_from_json(json.loads(row.payload)), fallback_channel=row.fallback_channel,
        )
        async with self._limit:
            if self._stopping or not await self._still_claimed(row):
                return None
            self._sending.add(row.id)
            try:
                return await notifier.send(message), None
            except DeliveryError as exc:
                return None, exc
            except Exception as exc:  # a notifier bug must not lose the row: record it and retry
                log.exception("notifier %s raised on outbox %s", platform, row.key)
                return None, DeliveryError(f"{type(exc).__name__}: {exc}")
            finally:
                self._sending.discard(row.id)

    async def prune(self) -> int:
        """Delete sent messages older than ``settings.outbox.retention`` (see ``q.prune_sent`` for which
        ones, and why none of them can be written again). Runs at most every ``PRUNE_EVERY``, in small
        transactions; when more are left than one call deletes, the next call goes on. Returns how many
        were deleted."""
        now = self.clock.now()
        if self.workspace_id is not None or (self._next_prune is not None and now < self._next_prune):
            return 0
        before = now - self.settings.outbox.retention
        self._next_prune = now + PRUNE_EVERY  # set first: a prune that fails waits its turn like one that ends
        deleted, more = await self.db.delete_in_batches(lambda session, limit: q.prune_sent(session, before, limit),
                                                        batch=PRUNE_BATCH, batches=PRUNE_BATCHES_PER_TICK)
        if more:
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
        moment_labels=reply.moment_labels, data={**reply.data, "mention": member_id}, kind=reply.kind,
        mention=member_id,
    )


# A claimed row, its outcome, and the channel post replacing its DM when the member's DMs were closed.
Recorded = tuple[q.Claimed, dict[str, Any], Reply | None]
# The outcome a recorded status stands for, in the deliveries metric.
_DELIVERY_OUTCOME = {"sent": "sent", "pending": "retried", "failed": "failed", "missed": "missed"}


def destination(row: q.Claimed) -> str:
    """The notifier a row goes to: a post on a public record (GitHub, the forum) to that service's, chat to
    the workspace's platform."""
    kind = outbound_kind(row.kind)
    return (SERVICE_OF_KIND.get(kind) if kind is not None else None) or platform_of(row.workspace_id)


def _count_deliveries(outcomes: list[Recorded]) -> None:
    """Counted once recorded, so a delivery whose outcome a crash lost is counted when it is sent again."""
    for row, outcome, _ in outcomes:
        DELIVERIES.labels(platform=destination(row), outcome=_DELIVERY_OUTCOME[outcome["status"]]).inc()


class _Recorder:
    """Outcomes waiting to be written. Whoever calls ``flush`` first writes everything gathered so far; the
    others wait for that write and then find their outcome already written (or write what came since), so
    each caller returns only once its outcome is in the database."""

    def __init__(self, write: Callable[[list[Recorded]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[Recorded] = []
        self._writing = asyncio.Lock()

    def add(self, row: q.Claimed, outcome: dict[str, Any], *, fallback: Reply | None = None) -> None:
        self._waiting.append((row, outcome, fallback))

    async def flush(self) -> None:
        async with self._writing:
            if self._waiting:
                waiting, self._waiting = self._waiting, []
                try:
                    await self._write(waiting)
                except BaseException:
                    # Not written: kept for the next flush (a lost outcome would leave a sent message pending,
                    # to be sent again once its lease runs out).
                    self._waiting[:0] = waiting
                    raise


def _outcome(row: q.Claimed, status: str, now: datetime, *, ref: str | None = None, error: str | None = None,
             retry_at: datetime | None = None) -> dict[str, Any]:
    return {
        "row_id": row.id, "status": status, "sent_at": now if status == "sent" else None,
        "last_error": error[:2000] if error else None, "platform_ref": ref,
        "next_attempt_at": retry_at or now,
    }


async def refresh_outbox_metrics(db: Database, clock: Clock) -> None:
    """The backlog gauges, read from the database when ``/metrics`` is scraped (not on every tick)."""
    now = clock.now()
    async with db.read() as session:
        backlog, oldest_due = await q.due_backlog(session, now)
    outbox_state(now, backlog, oldest_due)


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
