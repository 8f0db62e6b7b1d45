"""A local stand-in for Discord's REST API and gateway: an aiohttp app on localhost that records every
call and answers with the shapes Discord documents. discord.py talks to it through ``Route.BASE``.

The gateway shards as Discord documents (https://discord.com/developers/docs/events/gateway#sharding):
IDENTIFY's ``shard: [shard_id, num_shards]`` (absent: ``[0, 1]``) is echoed in READY, a session gets
only the guilds with ``(guild_id >> 22) % num_shards == shard_id``, and a guild's dispatches go only to
its shard's session (direct messages to shard 0).

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


# Gateway events whose payload is the guild itself (its ``id``), not something in a guild (``guild_id``).
GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})
# Fields of a guild that only the gateway's GUILD_CREATE carries, not REST's Get Guild.
GATEWAY_ONLY = frozenset({"joined_at", "large", "member_count", "members", "channels", "threads", "presences",
                          "voice_states", "stage_instances", "guild_scheduled_events", "soundboard_sounds",
                          "unavailable"})


def shard_for(guild_id: int, num_shards: int) -> int:
    """Discord's documented formula for the shard that holds a guild."""
    return (guild_id >> 22) % num_shards


@dataclass
class Call:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    token: str = ""  # the bot token it came with (replicas in a test use different ones to tell them apart)


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
    # The gateway: the guilds the bot is in (GUILD_CREATE payloads), the open sockets and the shard each
    # identified as, and what /gateway/bot recommends.
    guilds: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    shard_of: dict[web.WebSocketResponse, tuple[int, int]] = field(default_factory=dict)
    sessions: dict[str, tuple[int, int]] = field(default_factory=dict)
    token_of: dict[web.WebSocketResponse, str] = field(default_factory=dict)
    # (event, token of the session it went to) for each dispatch sent.
    dispatched: list[tuple[str, str]] = field(default_factory=list)
    recommended_shards: int = 1
    # While set, new gateway connections are refused (503), as during a Discord gateway outage.
    refusing: bool = False
    refused: int = 0  # connections refused so far
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the session of the shard it belongs to (a guild's, else shard 0's)."""
        guild_id = data.get("guild_id") or (data.get("id") if event in GUILD_EVENTS else None)
        for socket, (shard_id, num_shards) in list(self.shard_of.items()):
            if shard_id == (shard_for(int(guild_id), num_shards) if guild_id else 0):
                self.dispatched.append((event, self.token_of.get(socket, "")))
                await socket.send_str(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    async def close_shard(self, shard_id: int, code: int = 4000) -> None:
        """Discord ends the shard's session (4000: an unknown error, one a client reconnects after)."""
        for socket, (sid, _) in list(self.shard_of.items()):
            if sid == shard_id:
                await socket.close(code=code)

    async def gateway(self, request: web.Request) -> web.StreamResponse:
        """Enough of the gateway for a bot session: HELLO, IDENTIFY -> READY and the shard's GUILD_CREATEs,
        RESUME -> RESUMED, heartbeats acknowledged. Text frames (JSON), which discord.py accepts besides
        zlib streams."""
        if self.refusing:
            self.refused += 1
            return web.Response(status=503, text="gateway unavailable (fake)")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for frame in socket:
            message = json.loads(frame.data)
            if message["op"] == 1:
                await socket.send_str(json.dumps({"op": 11}))
            elif message["op"] == 2:
                await self._identify(socket, request, message["d"])
            elif message["op"] == 6 and message["d"]["session_id"] in self.sessions:
                self.shard_of[socket] = self.sessions[message["d"]["session_id"]]
                self.token_of[socket] = message["d"]["token"]
                await socket.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}}))
            elif message["op"] == 6:  # Discord: an unknown session is an Invalid Session, not resumable
                await socket.send_str(json.dumps({"op": 9, "d": False}))
        self.sockets.remove(socket)
        self.shard_of.pop(socket, None)
        self.token_of.pop(socket, None)
        return socket

    async def _identify(self, socket: web.WebSocketResponse, request: web.Request, identify: dict[str, Any]) -> None:
        shard_id, num_shards = identify.get("shard", [0, 1])
        self.calls.append(Call("WS", "/gateway", {}, {"op": 2, "intents": identify["intents"],
                                                      "shard": identify.get("shard")}, identify["token"]))
        if not 0 <= shard_id < num_shards:
            await socket.close(code=4010)  # Discord: "Invalid shard"
            return
        session = f"session-{shard_id}-{next(self._seq)}"
        self.sessions[session] = self.shard_of[socket] = (shard_id, num_shards)
        self.token_of[socket] = identify["token"]
        mine = [g for g in self.guilds if shard_for(int(g["id"]), num_shards) == shard_id]
        ready = {"v": 10, "user": BOT_USER, "guilds": [{"id": g["id"], "unavailable": True} for g in mine],
                 "session_id": session, "resume_gateway_url": str(request.url), "shard": [shard_id, num_shards],
                 "application": {"id": str(APP_ID), "flags": 0}}
        await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
        for guild in mine:
            await socket.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": guild}))
        self.identified.set()
        async with self._arrived:
            self._arrived.notify_all()

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
            return 200, {"url": self.url.replace("http://", "ws://") + "/gateway", "shards": self.recommended_shards,
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
        found = re.fullmatch(r"/guilds/(\d+)(/channels)?", path)
        if found and method == "GET":
            return self._guild(found.group(1), channels=bool(found.group(2)))
        found = re.fullmatch(r"/guilds/\d+/members/(\d+)", path)
        if found and method == "GET":
            known = self.members.get(found.group(1))
            return (200, known) if known else (404, {"message": "Unknown Member", "code": 10007})
        found = re.fullmatch(r"/guilds/(\d+)/scheduled-events(/(\d+))?", path)
        if found:
            return self._events(method, found.group(1), found.group(3), body)
        return 404, {"message": "Unknown route (fake)", "code": 0}

    def _guild(self, guild_id: str, *, channels: bool) -> tuple[int, Any]:
        """Get Guild (without the gateway-only fields) or Get Guild Channels."""
        known = next((g for g in self.guilds if g["id"] == guild_id), None)
        if known is None:
            return 404, {"message": "Unknown Guild", "code": 10004}
        if channels:
            return 200, [{**c, "guild_id": guild_id} for c in known["channels"]]
        return 200, {k: v for k, v in known.items() if k not in GATEWAY_ONLY}

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
        token = request.headers.get("Authorization", "").removeprefix("Bot ")
        self.calls.append(Call(request.method, path, dict(request.query), body, token))
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
