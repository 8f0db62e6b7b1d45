"""The HTTP server's routes: the liveness and readiness checks, the metrics, the calendar feeds, the
subscription page, the Slack endpoint and GitHub's webhook.

``quorum run`` starts listening before it has imported the rest of the bot or migrated the database, so
this module imports nothing but aiohttp: the routes find the services in a ``WebState`` that start-up
fills when they are ready, and answer 503 until then (``/health/live`` answers from the first moment)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # importing the services costs most of start-up: the routes look them up at request time
    from bot.config import Settings
    from bot.services import Services

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What stops this process from serving, in words for an operator; empty when it is ready.
Readiness = Callable[[], Awaitable[list[str]]]


@dataclass
class WebState:
    """What the routes need, filled in once start-up has built it (after the database is migrated)."""

    services: Services | None = None
    slack: Handler | None = None
    github: Handler | None = None  # set when GITHUB_WEBHOOK_SECRET is (bot/adapters/github/webhook.py)
    readiness: Readiness | None = None
    # Brings the gauges read from the database up to date before /metrics answers.
    refresh_metrics: Callable[[], Awaitable[None]] | None = None


STATE_KEY = web.AppKey("state", WebState)
RETRY_AFTER_SECONDS = "5"


def _starting() -> web.HTTPServiceUnavailable:
    return web.HTTPServiceUnavailable(text="Quorum is starting; try again in a few seconds.\n",
                                      headers={"Retry-After": RETRY_AFTER_SECONDS})


def services_of(request: web.Request) -> Services:
    services = request.app[STATE_KEY].services
    if services is None:
        raise _starting()
    return services


def slack_http_mode(settings: Settings) -> bool:
    """Slack is on without a Socket Mode token: its requests arrive at ``POST /slack/events``."""
    return settings.secrets.slack_enabled and not settings.secrets.slack_app_token


async def live(request: web.Request) -> web.Response:
    """The process answers HTTP: nothing more (not the database, not the platforms)."""
    return web.json_response({"ok": True})


async def ready_check(request: web.Request) -> web.Response:
    """Ready to serve: the database answers and is migrated to this release, and every configured platform
    is connected. 503 with the reasons otherwise (and while starting)."""
    state = request.app[STATE_KEY]
    if state.services is None:
        problems = ["starting up"]
    else:
        problems = await state.readiness() if state.readiness is not None else []
    if problems:
        return web.json_response({"ok": False, "problems": problems}, status=503,
                                 headers={"Retry-After": RETRY_AFTER_SECONDS})
    return web.json_response({"ok": True})


async def metrics(request: web.Request) -> web.StreamResponse:
    """Prometheus metrics (bot/metrics.py), behind ``QUORUM_METRICS_TOKEN`` as a bearer token when it is set."""
    state = request.app[STATE_KEY]
    services = services_of(request)
    token = services.settings.secrets.metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise web.HTTPUnauthorized(text="/metrics needs the QUORUM_METRICS_TOKEN as a bearer token.\n",
                                       headers={"WWW-Authenticate": 'Bearer realm="quorum metrics"'})
    if state.refresh_metrics is not None:
        await state.refresh_metrics()
    from prometheus_client.aiohttp import make_aiohttp_handler

    return await make_aiohttp_handler()(request)


# Each route finds its services before it imports the page code: during start-up that answers 503 at once,
# instead of importing the whole bot on the event loop (stalling /health/live) while start-up's worker
# thread imports the same modules. Once ready, start-up has imported bot.web.calendar (bot/run.py).
async def index(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    from bot.web.calendar import index as page

    return await page(request, services)


async def calendar(request: web.Request) -> web.StreamResponse:
    services = services_of(request)
    from bot.web.calendar import calendar_resource

    return await calendar_resource(request, services)


async def slack_events(request: web.Request) -> web.StreamResponse:
    handler = request.app[STATE_KEY].slack
    if handler is None:
        raise _starting()
    return await handler(request)


async def github_webhook(request: web.Request) -> web.StreamResponse:
    services_of(request)
    handler = request.app[STATE_KEY].github
    if handler is None:
        return web.json_response({"error": "GitHub webhooks are off here: set GITHUB_WEBHOOK_SECRET (and "
                                           "GITHUB_TOKEN), see docs/github.md"}, status=404)
    return await handler(request)


def build_web_app(services: Services | None = None, *, slack_http: bool = False) -> web.Application:
    """The routes, answering 503 (but ``/health/live``) until ``ready`` is called, or at once when
    ``services`` is given. ``slack_http``: Slack in HTTP mode, so ``POST /slack/events`` exists."""
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE_KEY] = WebState()
    app.router.add_get("/health/live", live)
    app.router.add_get("/healthz", live)  # the older name, kept for existing probes
    app.router.add_get("/health/ready", ready_check)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/", index)
    app.router.add_get("/calendar/{name}", calendar)
    if slack_http:
        app.router.add_post("/slack/events", slack_events)
    app.router.add_post("/github/webhook", github_webhook)
    if services is not None:
        ready(app, services)
    return app


def ready(app: web.Application, services: Services, slack: Handler | None = None, github: Handler | None = None,
          *, readiness: Readiness | None = None,
          refresh_metrics: Callable[[], Awaitable[None]] | None = None) -> None:
    """Start answering with these services (and this Slack handler, when Slack runs in HTTP mode; this
    GitHub webhook handler, when GITHUB_WEBHOOK_SECRET is set)."""
    state = app[STATE_KEY]
    state.slack = slack
    state.github = github
    state.readiness = readiness
    state.refresh_metrics = refresh_metrics
    state.services = services
