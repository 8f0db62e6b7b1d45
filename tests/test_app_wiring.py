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


async def test_github_is_off_without_a_token_and_says_how(settings: Settings, sqlite_url: str) -> None:
    from bot.app import adapter_status
    from bot.config import GitHubConfig, Secrets

    plain = replace(settings, database_url=sqlite_url)
    assert any(line.startswith("GitHub: off. Set GITHUB_TOKEN") and "docs/github.md" in line
               for line in adapter_status(plain))
    app = build_app(plain, clock=ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC)), platforms=())
    try:
        assert "github" not in app.services.notifiers and app.services.github.reader is None
    finally:
        await app.close()
    on = replace(plain, secrets=Secrets(github_token="github_pat_x"),
                 github=GitHubConfig(repositories=("apache/tvm",), labels={"community": "tvm-meeting"}))
    assert any(line.startswith("GitHub: on (1 repositories, 1 series labels") for line in adapter_status(on))
    app = build_app(on, clock=ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC)), platforms=())
    try:
        assert [name for name, _ in app.ticker.jobs] == ["reminders", "github"]
        assert app.services.notifiers["github"].platform == "github"
        assert "github_pat_x" not in repr(app.github)
    finally:
        await app.close()
