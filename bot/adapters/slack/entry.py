"""The Slack adapter: a slack-bolt ``AsyncApp`` that turns slash commands, button clicks, modal
submissions and App Home visits into command runs, and their ``Reply`` into Block Kit.

HTTP mode serves ``POST /slack/events`` on Quorum's own aiohttp server; Socket Mode (when an app token
is set) feeds the same ``AsyncApp`` from Slack's websocket. Every HTTP request is verified against the
signing secret with the injected clock (5-minute window) before bolt sees it; every request's trigger
or event id is claimed in the database first, so a retry never repeats a side effect."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.live_vote import live_vote_id, remember_live_vote
from bot.adapters.slack.identity import SlackDirectory, member_id, mention_resolver, workspace_id
from bot.adapters.slack.notifier import SlackNotifier, message_ref
from bot.adapters.slack.render import (
    ACTION_PREFIX,
    PROMPT_CALLBACK,
    home_view,
    message,
    parse_button_value,
    prompt_modal,
)
from bot.adapters.text import with_answer_if_any
from bot.clock import Clock
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.commands.registry import GROUPS
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply

log = logging.getLogger("quorum.slack")

DEFAULT_API_URL = "https://slack.com/api/"
APOLOGY = "Sorry, something went wrong on our side (error logged). Please try again in a moment."

# Open votes for the App Home, given the member. A hook because votes may not exist in this build.
OpenVotesHook = Callable[[Actor], Awaitable[Reply | None]]


def api_base_url(settings: Settings) -> str:
    url = settings.slack_api_url or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


class _InjectedClock(SlackClock):
    """slack_sdk's verifier asks for seconds since the epoch; ours is the app's (test-movable) clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()


def request_key(body: dict[str, Any]) -> str | None:
    """The id Slack keeps across retries of one request: ``event_id`` for events, ``trigger_id`` for
    commands and interactions."""
    team = (body.get("team_id") or (body.get("team") or {}).get("id")
            or (body.get("user") or {}).get("team_id") or "-")
    if body.get("event_id"):
        return f"slack:{team}:event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"slack:{team}:trigger:{body['trigger_id']}"
    return None


def response_body(reply: Reply, *, replace: bool = False) -> dict[str, Any]:
    return {"response_type": "ephemeral" if reply.ephemeral else "in_channel",
            "replace_original": replace, **message(reply)}


class SlackAdapter:
    def __init__(self, dispatcher: Dispatcher, settings: Settings, *, open_votes: OpenVotesHook | None = None) -> None:
        secrets = settings.secrets
        if not (secrets.slack_bot_token and secrets.slack_signing_secret):
            raise ValueError("Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET")
        self.dispatcher = dispatcher
        self.services = dispatcher.services
        self.settings = settings
        self.client = AsyncWebClient(token=secrets.slack_bot_token, base_url=api_base_url(settings),
                                     logger=log.getChild("web"))
        self.directory = SlackDirectory(self.client, settings, self.services.clock)
        self.notifier = SlackNotifier(self.client)
        self.verifier = SignatureVerifier(secrets.slack_signing_secret, clock=_InjectedClock(self.services.clock))
        self.open_votes = open_votes or self._open_votes_from_registry
        self.socket_mode: AsyncSocketModeHandler | None = None
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secrets.slack_signing_secret,
            # Verified in handle_http with the injected clock; Socket Mode needs none (the socket is
            # authenticated by the app token).
            request_verification_enabled=False,
            process_before_response=False,
            logger=log.getChild("bolt"),
        )
        self.app.middleware(self._once)
        for group in GROUPS:
            self.app.command(f"/{group}")(self._on_command)
        self.app.action(re.compile("^" + re.escape(ACTION_PREFIX)))(self._on_action)
        self.app.view(PROMPT_CALLBACK)(self._on_prompt)
        self.app.event("app_home_opened")(self._on_home)

    # -- transport ---------------------------------------------------------------------------------
    async def handle_http(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: commands, interactions and events, all signed by Slack."""
        body = await request.read()
        try:
            valid = self.verifier.is_valid_request(body, dict(request.headers))
        except ValueError:  # a timestamp that is not a number
            valid = False
        if not valid:
            log.warning("Rejected a Slack request with a bad signature or a stale timestamp from %s",
                        request.remote)
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return web.json_response({"error": "body is not UTF-8"}, status=400)
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers={k.lower(): v for k, v in request.headers.items()})
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    async def start_socket_mode(self, app_token: str) -> None:
        self.socket_mode = AsyncSocketModeHandler(self.app, app_token, logger=log.getChild("socket"))
        await self.socket_mode.connect_async()
        log.info("Slack Socket Mode connected")

    async def close(self) -> None:
        if self.socket_mode is not None:
            await self.socket_mode.close_async()
            self.socket_mode = None

    async def _once(self, body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        """Run a request only the first time its key is seen. A retry gets an empty 200 (a fresh
        response: at this point bolt has none to pass on)."""
        key = request_key(body)
        if key is not None and not await self.services.requests.first_time(key):
            log.info("Ignored a repeat of Slack request %s (already handled)", key)
            return BoltResponse(status=200, body="")
        return await next()

    # -- identity ------------------------------------------------------------------------------------
    async def actor(self, team: str, user_id: str, fallback_name: str = "", channel: str | None = None) -> Actor:
        user = await self.directory.user(user_id, fallback_name)
        roles = await self.directory.roles_of(user_id)
        return make_actor(self.settings, workspace_id=workspace_id(team), platform="slack",
                          member_id=member_id(team, user_id), display_name=user.display_name,
                          platform_roles=roles, platform_timezone=user.timezone, channel_id=channel)

    async def run(self, text: str, actor: Actor, team: str) -> Reply:
        try:
            return await self.dispatcher.run_text(text, actor, mention_resolver(team))
        except Exception:  # the dispatcher answers its own errors; this guards the adapter's lookups
            log.exception("Slack command failed before it ran")
            return Reply.error(APOLOGY)

    # -- slash commands ---------------------------------------------------------------------------
    async def _on_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any]) -> None:
        # Ack first (Slack waits 3 s); the answer follows on the response_url.
        await ack()
        team = str(command.get("team_id", ""))
        try:
            actor = await self.actor(team, str(command["user_id"]), str(command.get("user_name", "")),
                                     command.get("channel_id"))
            text = f"{str(command['command']).lstrip('/')} {command.get('text') or ''}".strip()
            reply = await self.run(text, actor, team)
        except Exception:
            log.exception("Slack command %s failed", command.get("command"))
            reply = Reply.error(APOLOGY)
        vote_id = live_vote_id(reply)
        channel = command.get("channel_id")
        if vote_id is not None and channel and await self._post_vote_message(team, vote_id, str(channel), reply):
            return
        await self._send_response(command.get("response_url"), reply)

    async def _post_vote_message(self, team: str, vote_id: int, channel: str, reply: Reply) -> bool:
        """A vote's live message goes to the channel with ``chat.postMessage`` rather than the command's
        response URL: Slack lets the bot edit only what it posted itself, and the vote's close redraws
        this message as the result (it is recorded for that). False, with nothing posted, when Slack
        refuses (a private channel or a conversation the bot is not in): the response URL carries it."""
        try:
            posted = await self.client.chat_postMessage(channel=channel, **message(reply))
        except SlackApiError as exc:
            log.info("posting vote #%s in %s failed (%s); answering on the response URL instead",
                     vote_id, channel, exc.response.get("error"))
            return False

        async def posted_ref() -> str:
            return message_ref(str(posted["channel"]), str(posted["ts"]))

        await remember_live_vote(self.dispatcher.services.votes, workspace_id(team), vote_id, posted_ref)
        return True

    # -- buttons and modals -----------------------------------------------------------------------
    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                         action: dict[str, Any]) -> None:
        await ack()
        action_text, prompt = parse_button_value(str(action.get("value", "")))
        container = body.get("container") or {}
        where = {
            "c": (body.get("channel") or {}).get("id") or container.get("channel_id"),
            "ts": container.get("message_ts") or (body.get("message") or {}).get("ts"),
            "e": bool(container.get("is_ephemeral")),
            "r": body.get("response_url"),
        }
        if prompt:
            await self.client.views_open(trigger_id=body["trigger_id"],
                                         view=prompt_modal(prompt, {"a": action_text, **where}))
            return
        user = body.get("user") or {}
        await self._run_action(self._team_of(body), str(user.get("id")), str(user.get("username", "")),
                               action_text, where)

    async def _on_prompt(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                         view: dict[str, Any]) -> None:
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        answer = (((view.get("state") or {}).get("values") or {}).get("answer") or {}).get("text") or {}
        text = str(answer.get("value") or "")
        user = body.get("user") or {}
        await self._run_action(self._team_of(body), str(user.get("id")), str(user.get("username", "")),
                               with_answer_if_any(str(meta.get("a", "")), text), meta)

    @staticmethod
    def _team_of(body: dict[str, Any]) -> str:
        return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
                   or (body.get("view") or {}).get("team_id") or "")

    async def _run_action(self, team: str, user_id: str, name: str, action_text: str, where: dict[str, Any]) -> None:
        channel, ts, response_url = where.get("c"), where.get("ts"), where.get("r")
        try:
            actor = await self.actor(team, user_id, name, channel)
            reply = await self.run(action_text, actor, team)
        except Exception:
            log.exception("Slack button action failed")
            reply = Reply.error(APOLOGY)
        if reply.refresh is not None:
            # After the action ran (a refused click on a closed vote redraws it as its result too): a
            # refresh Slack refuses must not turn "your ballot is recorded" into "something went wrong".
            await self._replace(reply.refresh, channel, ts, bool(where.get("e")), response_url)
        if response_url:
            await self._send_response(response_url, reply)
        elif channel:
            if reply.ephemeral:
                await self.client.chat_postEphemeral(channel=channel, user=user_id, **message(reply))
            else:
                await self.client.chat_postMessage(channel=channel, **message(reply))

    async def _replace(self, fresh: Reply, channel: str | None, ts: str | None, ephemeral: bool,
                       response_url: str | None) -> None:
        """Replace the message the clicked button was on (a vote's live tally): with ``chat.update`` when it
        is a channel message, else, or when Slack refuses the update, through the click's response URL.

        Slack may refuse ``chat.update`` on a message that was posted through a command's response URL
        (``cant_update_message``; a vote message is posted that way where the bot cannot post itself),
        while the response URL of a click on that message can still replace it. A refresh that fails both
        ways is logged and dropped: the action itself is done, and the next click or ``/vote status``
        shows the current state."""
        if channel and ts and not ephemeral:
            try:
                await self.client.chat_update(channel=channel, ts=ts, **message(fresh))
                return
            except SlackApiError as exc:
                log.warning("Slack refused chat.update of %s:%s (%s); replacing it through the response URL",
                            channel, ts, exc.response.get("error"))
        if not response_url:
            return
        try:
            await self._send_response(response_url, fresh, replace=True)
        except Exception:
            log.exception("Could not refresh the Slack message the button was on")

    async def _send_response(self, url: str | None, reply: Reply, *, replace: bool = False) -> None:
        if not url:
            log.warning("Slack gave no response_url; the reply was dropped: %s", reply.text[:200])
            return
        response = await AsyncWebhookClient(url).send_dict(response_body(reply, replace=replace))
        if response.status_code != 200:
            log.warning("Slack response_url answered %s: %s", response.status_code, response.body[:200])

    # -- App Home ---------------------------------------------------------------------------------------
    async def _on_home(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        user_id = str(event.get("user"))
        actor = await self.actor(team, user_id)
        await self.client.views_publish(user_id=user_id, view=home_view(await self.home_sections(actor, team)))

    async def home_sections(self, actor: Actor, team: str) -> list[tuple[str, Reply]]:
        sections: list[tuple[str, Reply]] = []
        upcoming = await self.run("meeting next", actor, team)
        meeting = upcoming.meeting
        duties = [label for label, member in (("host", meeting.host if meeting else None),
                                              ("take notes at", meeting.note_taker if meeting else None))
                  if member == actor.member_id]
        if duties:
            sections.append(("Your duties", Reply(f"You {' and '.join(duties)} the next meeting.",
                                                  moments=upcoming.moments)))
        sections.append(("Next meeting", upcoming if upcoming.ok else Reply(upcoming.text)))
        votes = await self.open_votes(actor)
        if votes is not None:
            sections.append(("Open votes", votes if votes.ok else Reply(votes.text)))
        return sections

    async def _open_votes_from_registry(self, actor: Actor) -> Reply | None:
        """The open votes, as ``/vote list open`` shows them."""
        return await self.run("vote list open", actor, actor.workspace_id.split(":", 1)[-1])
