"""Wiring: builds the database, services, scheduler, web server and adapters from the settings.
The only module that imports every layer."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import InitVar, dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.adapters.console_notifier import ConsoleNotifier
from bot.clock import Clock, SystemClock
from bot.commands import catalog  # noqa: F401  (registers every command)
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.scheduler import Ticker
from bot.services import Services
from bot.services.reminders import due_tick
from bot.web.routes import build_web_app, ready, slack_http_mode
from storage.db import Database, safe_url

if TYPE_CHECKING:  # a platform's SDK is imported only when its token is configured
    from bot.adapters.discord.client import DiscordAdapter
    from bot.adapters.slack import SlackAdapter

log = logging.getLogger("quorum")


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    # The web app to serve from: ``quorum run`` passes the one that has listened since start-up (with
    # its routes answering 503 until now); otherwise the app builds its own.
    serve_on: InitVar[web.Application | None] = None

    def __post_init__(self, serve_on: web.Application | None) -> None:
        self.db = Database(self.settings.database_url)
        self.services = Services(self.db, self.clock, self.settings)
        self.dispatcher = Dispatcher(self.services)
        self.ticker = Ticker(self.settings.tick_seconds)
        # Rotation has no job of its own: host and note-taker are fixed by a deadline hook inside the
        # reminders tick's deadline step, in the announcement's transaction (docs/rotation.md). Votes close
        # at their deadline in the same tick (a due planner, bot/services/vote_notices.py), which posts the
        # result through the outbox in the close's transaction.
        # Console workspaces' reminders, announcements and vote results are printed (and logged).
        self.services.notifiers.setdefault("console", ConsoleNotifier())
        self.ticker.add("reminders", self.reminders_tick)
        # A message written by a command (minutes, swap DMs) is sent within a second, not at the next tick.
        self.services.outbox.on_enqueued(self._wake_soon)
        self.web_app = serve_on if serve_on is not None else build_web_app(slack_http=slack_http_mode(self.settings))
        self.slack: SlackAdapter | None = None
        if self.settings.secrets.slack_enabled:
            from bot.adapters.slack import SlackAdapter

            self.slack = SlackAdapter(self.dispatcher, self.settings)
            self.services.notifiers["slack"] = self.slack.notifier
            self.services.role_directories["slack"] = self.slack.directory
        slack_http = self.slack.handle_http if self.slack is not None and slack_http_mode(self.settings) else None
        ready(self.web_app, self.services, slack_http)

    def _wake_soon(self) -> None:
        self.ticker.wake_at(self.clock.now() + timedelta(seconds=1))

    async def reminders_tick(self) -> None:
        """Plan and send what is due, then ask for a wake-up at the nearest due time. The first tick at
        start handles everything that became due while the process was down."""
        wake = await due_tick(self.services.reminders, self.services.outbox_dispatcher)
        if wake is not None:
            # Never sooner than a second from now: a time already past must not make the ticker spin.
            self.ticker.wake_at(max(wake, self.clock.now() + timedelta(seconds=1)))

    async def migrate(self) -> None:
        await migrate(self.settings)

    async def close(self) -> None:
        if self.slack is not None:
            await self.slack.close()
        await self.db.dispose()


async def migrate(settings: Settings) -> None:
    from storage.migrate import upgrade  # Alembic: only the commands that migrate pay for importing it

    await upgrade(settings.database_url)


def adapter_status(settings: Settings) -> list[str]:
    """One line per platform saying whether it is on, and how to turn it on if not."""
    lines = []
    if settings.secrets.discord_enabled:
        lines.append("Discord: on (DISCORD_TOKEN is set).")
    else:
        lines.append("Discord: off. Set DISCORD_TOKEN to the bot token of your Discord application "
                     "(see docs/discord.md).")
    if settings.secrets.slack_enabled:
        mode = "Socket Mode" if settings.secrets.slack_app_token else "HTTP mode at POST /slack/events"
        lines.append(f"Slack: on ({mode}).")
    else:
        lines.append("Slack: off. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (and SLACK_APP_TOKEN for Socket "
                     "Mode) from your Slack app (see docs/slack.md).")
    return lines


def attach_discord(app: App) -> DiscordAdapter:
    """The Discord adapter wired into the app (its notifier, role listing and scheduled-event listener
    register themselves on the services; the event sync joins the ticker), not yet connected."""
    from bot.adapters.discord.client import DiscordAdapter

    adapter = DiscordAdapter(app.dispatcher)
    app.ticker.add("discord-events", adapter.tick)
    return adapter


async def serve_until(settings: Settings, runner: web.AppRunner, stop: asyncio.Event) -> None:
    """The second half of ``quorum run`` (bot/run.py), once the web server listens: migrate, build the
    app, let the routes answer, start the adapters and the ticker; run until ``stop``, then shut down
    cleanly (the web server too)."""
    try:
        for line in adapter_status(settings):
            log.info(line)
        await migrate(settings)
        app = App(settings, serve_on=runner.app)
    except BaseException:
        await runner.cleanup()
        raise
    log.info("Quorum is serving http://%s:%s (public URL %s); database %s", settings.web.host,
             settings.web.port, settings.web.public_url, safe_url(settings.database_url))
    discord_adapter = None
    try:
        if settings.secrets.discord_enabled:
            discord_adapter = attach_discord(app)
            await discord_adapter.start()
        app.ticker.start()
        if app.slack is not None and settings.secrets.slack_app_token:
            await app.slack.start_socket_mode(settings.secrets.slack_app_token)
        settle_heap()
        await stop.wait()
        log.info("Shutting down.")
    finally:
        app.ticker.shutdown()
        if discord_adapter is not None:
            await discord_adapter.stop()
        await runner.cleanup()
        await app.close()


def settle_heap() -> None:
    """Take what starting up allocated (modules, engines, routes: objects that live as long as the
    process) out of the cyclic garbage collector's sight. Otherwise every full collection walks all of
    them, a pause of 70-90 ms here that lands on whichever commands are waiting (bench/commands.py's
    paced p99 went from about 6 to 16-20 ms in runs where one struck). Objects created later are
    collected as usual."""
    gc.collect()
    gc.freeze()
