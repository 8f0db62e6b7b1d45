"""Event-loop lag: how late a task that asks to sleep 1 ms wakes up, sampled for as long as it runs.

While the loop's thread is busy (a query decoded on it, a big JSON dump, a hash chain recomputed), every
Discord and Slack interaction waits too; this ticker feels the same wait. Use it around the work to
observe:

    async with LagProbe() as lag:
        await work()
    print(lag.p99_ms, lag.max_ms)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType

TICK = 0.001  # seconds the ticker asks to sleep


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class LagProbe:
    def __init__(self) -> None:
        self.lags: list[float] = []  # seconds late, one per wake-up
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append(max(0.0, time.perf_counter() - asked - TICK))

    async def __aenter__(self) -> LagProbe:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)  # let it take its first sample before the work starts
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    @property
    def p99_ms(self) -> float:
        return percentile(self.lags, 0.99) * 1000 if self.lags else 0.0

    @property
    def max_ms(self) -> float:
        return max(self.lags) * 1000 if self.lags else 0.0
