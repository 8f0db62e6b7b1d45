from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.scheduler import Ticker


async def test_wake_at_keeps_one_precise_wakeup() -> None:
    ticker = Ticker(tick_seconds=30)
    ticker.start()
    try:
        assert ticker._scheduler is not None
        soon = datetime.now(UTC) + timedelta(hours=1)
        ticker.wake_at(soon + timedelta(minutes=5))
        ticker.wake_at(soon)
        jobs = {job.id: job for job in ticker._scheduler.get_jobs()}
        assert set(jobs) == {"tick", "wake"}
        assert jobs["wake"].next_run_time == soon
    finally:
        ticker.shutdown()
