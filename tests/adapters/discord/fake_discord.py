"""A local stand-in for Discord's REST API: an aiohttp app on localhost that records every call and
answers with the shapes Discord documents. discord.py talks to it through ``Route.BASE``.

Discord answers with exactly ``Content-Type: application/json`` (discord.py checks it), and its 429s
carry a ``Via`` header (without one discord.py assumes a Cloudflare ban)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = 700000000000000001
BOT_ID = 700000000000000002
BOT_USER = {"id": str(BOT_ID), "username": "quorum", "discriminator": "0", "global_name": "Quorum",
            "avatar": None, "bot": True}


@dataclass
class Call:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any


@dataclass
class Failure:
    method: str
    pattern: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int


@dataclass
class FakeDiscord:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Guild members the REST API knows by user id (GET /guilds/{g}/members/{u}); others are 404 10007.
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(900000000000000001))
    # The gateway: dispatches (t, d) to send after READY, and the open sockets.
    guilds: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for socket in self.sockets:
            await socket.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        """Enough of the gateway for a bot session: HELLO, IDENTIFY -> READY and GUILD_CREATEs,
        heartbeats acknowledged. Text frames (JSON), which discord.py accepts besides zlib streams."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for frame in socket:
            message = json.loads(frame.data)
            if message["op"] == 1:
                await socket.send_str(json.dumps({"op": 11}))
            elif message["op"] == 2:
                self.calls.append(Call("WS", "/gateway", {}, {"op": 2, "intents": message["d"]["intents"]}))
                guilds = [{"id": g["id"], "unavailable": True} for g in self.guilds]
                ready = {"v": 10, "user": BOT_USER, "guilds": guilds,
                         "session_id": "s1", "resume_gateway_url": str(request.url), "shard": [0, 1],
                         "application": {"id": str(APP_ID), "flags": 0}}
                await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
                for guild in self.guilds:
                    await socket.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq),
                                                      "d": guild}))
                self.identified.set()
        self.sockets.remove(socket)
        return socket

    def snowflake(self) -> str:
        return str(next(self._ids))

    def fail(self, method: str, pattern: str, status: int, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, times: int = 1) -> None:
        """The next ``times`` calls matching ``method`` and the path regex get this answer."""
        self.failures.append(Failure(method, pattern, status, body or {}, headers or {}, times))

    async def wait_for(self, method: str, pattern: str, count: int = 1) -> list[Call]:
        """Until ``count`` matching calls have arrived (for clients running on their own)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.calls_to(method, pattern)) >= count)
        return self.calls_to(method, pattern)

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]

    # -- answers ---------------------------------------------------------------------------
    def message(self, channel_id: str, body: dict[str, Any] | None) -> dict[str, Any]:
        body = body or {}
        return {
            "id": self.snowflake(), "channel_id": channel_id, "author": BOT_USER, "content": body.get("content") or "",
            "timestamp": "2022-03-01T12:00:00.000000+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": body.get("embeds") or [], "pinned": False, "type": 0, "components": body.get("components") or [],
            "flags": body.get("flags", 0),
        }

    def answer(self, method: str, path: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/users/@me":
            return 200, BOT_USER
        if path == "/oauth2/applications/@me":
            return 200, {"id": str(APP_ID), "name": "Quorum", "icon": None, "description": "", "rpc_origins": [],
                         "bot_public": True, "bot_require_code_grant": False, "owner": BOT_USER, "summary": "",
                         "verify_key": "00", "team": None, "flags": 0, "bot": BOT_USER}
        if path == "/gateway/bot":
            return 200, {"url": self.url.replace("http://", "ws://") + "/gateway", "shards": 1,
                         "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                                 "max_concurrency": 1}}
        if re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path) and method == "PUT":
            guild = re.search(r"/guilds/(\d+)/", path)
            return 200, [{**c, "id": self.snowflake(), "application_id": str(APP_ID), "version": "1",
                          **({"guild_id": guild.group(1)} if guild else {})} for c in body]
        found = re.fullmatch(r"/interactions/(\d+)/[^/]+/callback", path)
        if found:
            kind = body["type"]
            message = self.message("0", body.get("data")) if kind in (4, 5, 7) else None
            flags = (body.get("data") or {}).get("flags", 0)
            return 200, {
                "interaction": {"id": found.group(1), "type": 2, "response_message_id": message and message["id"],
                                "response_message_loading": kind == 5,
                                "response_message_ephemeral": bool(flags & 64)},
                "resource": {"type": kind, **({"message": message} if message else {})},
            }
        if re.fullmatch(r"/webhooks/\d+/[^/]+/messages/@original", path):
            return (204, None) if method == "DELETE" else (200, self.message("0", body))
        if re.fullmatch(r"/webhooks/\d+/[^/]+", path) and method == "POST":
            return 200, self.message("0", body)
        if path == "/users/@me/channels" and method == "POST":
            return 200, {"id": str(int(body["recipient_id"]) + 1), "type": 1,
                         "recipients": [{**BOT_USER, "id": body["recipient_id"], "bot": False}]}
        found = re.fullmatch(r"/channels/(\d+)/messages(/\d+)?", path)
        if found:
            message = self.message(found.group(1), body)
            if found.group(2):
                message["id"] = found.group(2)[1:]
            return 200, message
        found = re.fullmatch(r"/guilds/\d+/members/(\d+)", path)
        if found and method == "GET":
            known = self.members.get(found.group(1))
            return (200, known) if known else (404, {"message": "Unknown Member", "code": 10007})
        found = re.fullmatch(r"/guilds/(\d+)/scheduled-events(/(\d+))?", path)
        if found:
            return self._events(method, found.group(1), found.group(3), body)
        return 404, {"message": "Unknown route (fake)", "code": 0}

    def _events(self, method: str, guild_id: str, event_id: str | None, body: Any) -> tuple[int, Any]:
        if event_id is None and method == "GET":
            return 200, [e for e in self.events.values() if e["guild_id"] == guild_id]
        if event_id is None and method == "POST":
            created: dict[str, Any] = {
                "id": self.snowflake(), "guild_id": guild_id, "channel_id": None, "creator_id": str(BOT_ID),
                "status": 1, "entity_type": 3, "entity_id": None, "user_count": 0, "image": None,
                **body}
            self.events[created["id"]] = created
            return 200, created
        event = self.events.get(event_id or "")
        if event is None:
            return 404, {"message": "Unknown Guild Scheduled Event", "code": 10070}
        if method == "PATCH":
            event.update(body)
        return 200, event

    # -- the server ------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/api/v10")
        raw = await request.read()
        body = json.loads(raw) if raw and request.content_type == "application/json" else None
        if body is None and raw and request.content_type.startswith("multipart/"):
            body = _payload_json(raw)
        self.calls.append(Call(request.method, path, dict(request.query), body))
        async with self._arrived:
            self._arrived.notify_all()
        for failure in self.failures:
            if failure.times > 0 and failure.method == request.method and re.fullmatch(failure.pattern, path):
                failure.times -= 1
                return _json(failure.status, failure.body, failure.headers)
        status, answer = self.answer(request.method, path, body, dict(request.query))
        if status == 204:
            return web.Response(status=204)
        return _json(status, answer)


def _payload_json(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    match = re.search(r'name="payload_json"\r\n(?:Content-Type: [^\r]*\r\n)?\r\n(.*?)\r\n--', text, re.S)
    return json.loads(match.group(1)) if match else None


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json": aiohttp's json_response would add "; charset=utf-8".
    return web.Response(status=status, body=json.dumps(body).encode(),
                        headers={"Content-Type": "application/json", **(headers or {})})


def build_app(fake: FakeDiscord) -> web.Application:
    app = web.Application()
    app.router.add_get("/gateway", fake.gateway)
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    return app
