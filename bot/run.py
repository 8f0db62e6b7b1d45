"""``quorum run``: answer ``/health/live`` within moments of starting, then build the rest.

Importing the bot (SQLAlchemy, the models, the services, the commands, a platform's SDK) takes about a
second on an idle machine and several on a busy one, and migrating the database may take longer; a
liveness probe must not see a dead process meanwhile. So the web server listens first, with nothing
imported but aiohttp and the config: ``/health/live`` answers at once, the other routes answer 503 until
the app is ready. The imports run in a worker thread so that the event loop keeps answering; then
bot/app.py (the composition root) migrates, builds the app and hands the routes their services."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Settings
from bot.errors import OperatorError
from bot.web.routes import build_web_app, slack_http_mode

log = logging.getLogger("quorum")

Serve = Callable[[Settings, web.AppRunner, asyncio.Event], Awaitable[None]]


def _import_bot(settings: Settings) -> Serve:
    """Everything start-up needs, imported (in a worker thread), including the adapter and SDK of each
    platform the app will build (bot/app.py decides which); the others are never imported. Also imported
    here, not on the event loop when first used: Alembic (start-up migrates; bot.app imports it lazily for
    the commands that do not) and the calendar pages."""
    import bot.web.calendar  # noqa: F401
    import storage.migrate  # noqa: F401
    from bot.app import import_adapters, serve_until  # the whole bot

    import_adapters(settings)
    return serve_until


async def run(settings: Settings) -> None:
    """Listen, then start everything configured, and run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_web_app(slack_http=slack_http_mode(settings)), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.web.host, settings.web.port).start()
        except OSError as exc:
            raise OperatorError(cannot_listen(exc, settings.web.host, settings.web.port)) from exc
        log.info("Quorum is listening on http://%s:%s; starting up.", settings.web.host, settings.web.port)
        serve_until = await asyncio.to_thread(_import_bot, settings)
    except BaseException:
        await runner.cleanup()
        raise
    await serve_until(settings, runner, stop)


def cannot_listen(error: OSError, host: str, port: int) -> str:
    """Why the web server could not listen, and how to fix it, in one sentence."""
    choose = "choose another with quorum run --port N or QUORUM_PORT (or [web] port in the config)"
    if error.errno == errno.EADDRINUSE:
        return f"Port {port} on {host} is already in use (another Quorum, or another server): stop it, or {choose}."
    if error.errno == errno.EACCES:
        return f"Not allowed to listen on port {port} on {host} (ports below 1024 need privileges): {choose}."
    if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
        return (f"Cannot listen on {host}: it is not an address of this machine; use 127.0.0.1 (this machine only) "
                "or 0.0.0.0 (every interface) with quorum run --host, QUORUM_HOST or [web] host.")
    return f"Cannot listen on {host}:{port} ({error.strerror or error}): {choose}, or fix the host with --host."
