"""APScheduler 3.x as an in-process alarm clock. It holds no state of its own: on each tick the
services compute from the database what is due, so a restart or a second replica loses nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.metrics import SCHEDULER_WAKEUPS

log = logging.getLogger("quorum.scheduler")

TickJob = Callable[[], Awaitable[None]]


class Ticker:
    def __init__(self, tick_seconds: int) -> None:
        self.tick_seconds = tick_seconds
        self.jobs: list[tuple[str, TickJob]] = []
        self._scheduler: AsyncIOScheduler | None = None
        # The interval tick and a precise wake-up are two APScheduler jobs; max_instances=1 holds per
        # job only, so this lock keeps them from running at once.
        self._running = asyncio.Lock()

    def add(self, name: str, job: TickJob) -> None:
        self.jobs.append((name, job))

    async def tick(self) -> None:
        """Run every job once; one failing job does not stop the others."""
        async with self._running:
            SCHEDULER_WAKEUPS.inc()
            for name, job in self.jobs:
                try:
                    await job()
                except Exception:
                    log.exception("scheduled job %s failed; it runs again on the next tick", name)

    def start(self) -> None:
        """Start inside the running event loop."""
        # APScheduler logs every job run and every re-planned wake-up at INFO: noise at a 30 s tick.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, id="tick",
                                max_instances=1, coalesce=True, next_run_time=datetime.now().astimezone())
        self._scheduler.start()

    def wake_at(self, when: datetime) -> None:
        """An extra tick at a precise instant (the nearest due time), besides the regular interval. One
        such wake-up is kept: each tick computes the nearest due time afresh and replaces it."""
        if self._scheduler is not None:
            self._scheduler.add_job(self.tick, "date", run_date=when, id="wake", replace_existing=True,
                                    max_instances=1, coalesce=True, misfire_grace_time=None)

    def shutdown(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
