"""A small fake of Slack's side for tests: the Web API (``/api/<method>``), response URLs
(``/respond/<id>``) and a Socket Mode websocket (``/socket``), all recording what Quorum sent.

It answers with the shapes Slack documents; tests change its users, user groups and failures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

# How long a test waits for Quorum to send something before failing (a limit, never a sleep).
WAIT_LIMIT = 5.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    received_at: float = field(default_factory=time.time)  # wall clock, for bench/replicas.py's lag


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    def __init__(self, team: str = "T0001") -> None:
        self.team = team
        self.calls: list[Call] = []
        self.responses: list[Call] = []  # posts to response URLs, method = the URL's id
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, tuple[str, set[str]]] = {}  # handle -> (id, user ids)
        self.failures: dict[str, list[Failure]] = {}
        # Methods whose calls are held unanswered until the test sets the event (a slow Slack).
        self.holds: dict[str, asyncio.Event] = {}
        self.held: list[Call] = []
        self.closed_dms: set[str] = set()  # users who do not accept direct messages from the app
        self.socket_received: list[dict[str, Any]] = []
        self.socket_outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._ts = 1646136000
        self.server: TestServer | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/respond/{id}", self._respond)
        self.app.router.add_get("/socket", self._socket)

    # -- setup -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.server = TestServer(self.app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def add_user(self, user_id: str, display_name: str, tz: str = "Europe/Berlin") -> None:
        self.users[user_id] = {"id": user_id, "team_id": self.team, "name": display_name.lower(), "tz": tz,
                               "real_name": display_name, "profile": {"display_name": display_name}}

    def add_group(self, handle: str, group_id: str, *users: str) -> None:
        self.groups[handle] = (group_id, set(users))

    def hold(self, method: str) -> asyncio.Event:
        """Leave calls of ``method`` unanswered until the returned event is set."""
        return self.holds.setdefault(method, asyncio.Event())

    def fail_next(self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.failures.setdefault(method, []).append(Failure(status, body, headers or {}))

    # -- waiting on what Quorum sends ----------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _record(self, target: list[Call], call: Call) -> None:
        async with self._changed:
            target.append(call)
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate`` holds (Quorum answers after acking, on its own task)."""
        async with asyncio.timeout(WAIT_LIMIT), self._changed:
            await self._changed.wait_for(predicate)

    async def responses_count(self, count: int) -> list[Call]:
        await self.wait_for(lambda: len(self.responses) >= count)
        return self.responses

    # -- handlers ------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        await self._record(self.calls, Call(method, params, dict(request.headers)))
        if method in self.holds and not self.holds[method].is_set():
            await self._record(self.held, Call(method, params, dict(request.headers)))
            await self.holds[method].wait()
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        return web.json_response(self.answer(method, params))

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": self.team, "user_id": "UBOT", "bot_id": "BBOT", "team": "Example",
                    "url": "https://example.slack.com/"}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": [{"id": gid, "handle": handle, "team_id": self.team}
                                               for handle, (gid, _) in self.groups.items()]}
        if method == "usergroups.users.list":
            for gid, users in self.groups.values():
                if gid == params.get("usergroup"):
                    return {"ok": True, "users": sorted(users)}
            return {"ok": False, "error": "no_such_subteam"}
        if method == "conversations.open":
            if str(params.get("users")) in self.closed_dms:
                return {"ok": False, "error": "cannot_dm_bot"}
            return {"ok": True, "channel": {"id": "D" + str(params.get("users"))[1:]}}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            self._ts += 1
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts") or f"{self._ts}.000100"}
        if method in ("views.open", "views.publish"):
            return {"ok": True, "view": {"id": "V0001"}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url("/socket").replace("http://", "ws://")}
        return {"ok": False, "error": "unknown_method"}

    async def _respond(self, request: web.Request) -> web.Response:
        await self._record(self.responses, Call(request.match_info["id"], await request.json(), dict(request.headers)))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"},
                            "connection_info": {"app_id": "A0001"}})

        async def pump() -> None:
            while True:
                await ws.send_json(await self.socket_outbox.get())

        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    async with self._changed:
                        self.socket_received.append(json.loads(msg.data))
                        self._changed.notify_all()
        finally:
            sender.cancel()
        return ws


# -- signed requests, as Slack sends them -----------------------------------------------------------
def sign(body: str, timestamp: int, secret: str) -> dict[str, str]:
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(command: str, text: str, *, team: str, user: str, user_name: str, response_url: str,
                       trigger_id: str, channel: str = "C2147483705") -> str:
    """Form-encoded, field for field as in Slack's slash command documentation."""
    return urlencode({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": team, "team_domain": "example",
        "enterprise_id": "E0001", "enterprise_name": "Globular Construct Inc", "channel_id": channel,
        "channel_name": "test", "user_id": user, "user_name": user_name, "command": command, "text": text,
        "api_app_id": "A123456", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger_id,
    })


def block_actions_body(*, team: str, user: str, user_name: str, action_id: str, value: str, response_url: str,
                       trigger_id: str, channel: str = "C2147483705", message_ts: str = "1646136001.000100",
                       ephemeral: bool = False) -> str:
    """A ``block_actions`` interaction, form-encoded as ``payload=<json>`` like Slack posts it."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": team},
        "api_app_id": "A123456", "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "message_ts": message_ts,
                      "channel_id": channel, "is_ephemeral": ephemeral},
        "trigger_id": trigger_id, "team": {"id": team, "domain": "example"}, "enterprise": None,
        "is_enterprise_install": False, "channel": {"id": channel, "name": "test"},
        "message": {"type": "message", "user": "UBOT", "ts": message_ts, "bot_id": "BBOT", "text": "Vote"},
        "state": {"values": {}}, "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "b1", "text": {"type": "plain_text", "text": "Go"},
                     "value": value, "type": "button", "action_ts": "1646136010.000200"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(*, team: str, user: str, user_name: str, private_metadata: str, text: str,
                         trigger_id: str) -> str:
    payload = {
        "type": "view_submission", "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": user_name, "name": user_name, "team_id": team},
        "api_app_id": "A123456", "token": "gIkuvaNzQIHg97ATvDxqgjtO", "trigger_id": trigger_id,
        "view": {"id": "V0001", "team_id": team, "type": "modal", "callback_id": "quorum_prompt",
                 "private_metadata": private_metadata, "blocks": [],
                 "state": {"values": {"answer": {"text": {"type": "plain_text_input", "value": text}}}}},
        "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def app_home_opened_body(*, team: str, user: str, event_id: str) -> str:
    return json.dumps({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": team, "api_app_id": "A123456",
        "event": {"type": "app_home_opened", "user": user, "channel": "D0001", "tab": "home",
                  "event_ts": "1646136000.000300"},
        "type": "event_callback", "event_id": event_id, "event_time": 1646136000,
        "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
    })
