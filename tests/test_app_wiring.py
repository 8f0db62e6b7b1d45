"""The app's scheduler wiring: one reminders job, the console notifier registered from the start, no
rotation job (rotation runs inside the deadline step), and a command's message wakes the dispatcher."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Settings


async def test_jobs_are_registered_once_and_ticks_do_not_add_more(settings: Settings, sqlite_url: str) -> None:
    app = build_app(replace(settings, database_url=sqlite_url), clock=ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC)))
    try:
        await app.migrate()
        assert [name for name, _ in app.ticker.jobs] == ["reminders"]
        assert "console" in app.services.notifiers
        assert app.services.deadline_hooks == [app.services.rotation.fix_assignment]
        await app.ticker.tick()
        await app.ticker.tick()
        assert [name for name, _ in app.ticker.jobs] == ["reminders"]
    finally:
        await app.close()
