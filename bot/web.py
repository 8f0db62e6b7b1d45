"""The HTTP server's routes: health check (and, added by their features, calendar feeds, the
subscription page and the Slack endpoint)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.services import Services

SERVICES_KEY = web.AppKey("services", Services)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    async with services.db.read() as session:
        await session.connection()
    return web.json_response({"ok": True})


def add_calendar_routes(app: web.Application) -> None:
    from bot.web_calendar import calendar_resource, index

    app.router.add_get("/", index)
    app.router.add_get("/calendar/{name}", calendar_resource)


def build_web_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES_KEY] = services
    app.router.add_get("/healthz", healthz)
    add_calendar_routes(app)
    return app


def mount_slack(app: web.Application, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
    """Slack's commands, interactions and events all arrive at one signed endpoint (HTTP mode)."""
    app.router.add_post("/slack/events", handler)
