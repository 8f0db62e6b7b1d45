"""The console shows what would be sent: a meeting's deadline run by the app's own tick."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

from bot.adapters.console_notifier import ConsoleNotifier
from bot.app import build_app
from bot.clock import ManualClock
from bot.config import Settings
from tests.helpers import SEED_SERIES, Members, ok


async def test_app_tick_prints_announcement_and_reminders_on_the_console(
        database_url: str, settings: Settings, clock: ManualClock, members: Members) -> None:
    app = build_app(replace(settings, database_url=database_url), clock)
    out = io.StringIO()
    app.services.notifiers["console"] = ConsoleNotifier(out)
    try:
        await ok(app.dispatcher, members.chair("alice"), SEED_SERIES + " channel=general")
        await ok(app.dispatcher, members.member("bob"),
                 '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
        clock.set(datetime(2022, 3, 1, 16, 0, tzinfo=UTC))
        await app.reminders_tick()
        await app.reminders_tick()
        clock.set(datetime(2022, 3, 2, 15, 0, tzinfo=UTC))
        await app.reminders_tick()
    finally:
        await app.close()
    printed = out.getvalue()
    assert printed.count("[tvm] post in general:\nTVM Community Meeting: the agenda is closed") == 1
    assert printed.count("[tvm] DM to console:bob:\nReminder: TVM Community Meeting") == 1
    assert "Host: not assigned" in printed
