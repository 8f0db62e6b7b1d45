"""``POST /github/webhook``: GitHub's signed deliveries, read at once instead of at the next poll.

The signature (``X-Hub-Signature-256``, HMAC-SHA256 of the raw body with ``GITHUB_WEBHOOK_SECRET``) is
checked by gidgethub's ``Event.from_http`` before anything is read: a missing or wrong one is a 401 that
changes nothing. A delivery is handled once (its ``X-GitHub-Delivery`` id is recorded; GitHub's
redeliveries and a second replica get "already handled"). A delivery does not carry the moment a label
was added reliably, so it triggers the same read as the poll, of that repository only."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event

from bot.contracts.github import GitHubUnavailable
from bot.services import Services
from bot.services.github import SyncReport

log = logging.getLogger("quorum.github")

# GitHub gives up on a delivery after 10 s: a read that takes longer goes on in the background and the
# delivery is answered 202 before then.
ANSWER_WITHIN_SECONDS = 8.0
# Events whose deliveries can change which issues carry a label (GitHub's event names).
RELEVANT = frozenset({"issues", "pull_request", "label"})


class GitHubWebhook:
    def __init__(self, secret: str, services: Services) -> None:
        self._secret = secret
        self.services = services
        self._background: set[asyncio.Task[object]] = set()  # reads that outlived their delivery's answer

    def __repr__(self) -> str:  # never the secret
        return "GitHubWebhook()"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            event = Event.from_http(request.headers, body, secret=self._secret)
        except ValidationFailure:
            log.warning("GitHub webhook: refused a delivery with a missing or wrong signature")
            return web.json_response({"error": "missing or invalid X-Hub-Signature-256"}, status=401)
        except (BadRequest, KeyError) as exc:
            return web.json_response({"error": f"not a GitHub delivery: {type(exc).__name__}"}, status=400)
        if event.event == "ping":
            return web.json_response({"ok": True, "pong": True})
        if not await self.services.requests.first_time(f"github:delivery:{event.delivery_id}"):
            return web.json_response({"ok": True, "duplicate": True})
        repo = str(((event.data or {}).get("repository") or {}).get("full_name") or "")
        if event.event not in RELEVANT or not self.services.settings.github.configured(repo):
            return web.json_response({"ok": True, "ignored": event.event})
        task: asyncio.Task[object] = asyncio.ensure_future(self.services.github.sync_repo(repo))
        try:
            report = await asyncio.wait_for(asyncio.shield(task), ANSWER_WITHIN_SECONDS)
        except TimeoutError:
            self._background.add(task)
            task.add_done_callback(self._finished)
            return web.json_response({"ok": True, "reading": repo}, status=202)
        except GitHubUnavailable as exc:
            # Recorded as handled anyway: the next poll reads the repository again.
            log.warning("GitHub webhook: could not read %s (%s); the next poll will", repo, exc)
            return web.json_response({"ok": True, "deferred": True}, status=202)
        assert isinstance(report, SyncReport)
        return web.json_response({"ok": True, "added": report.added, "removed": report.removed})

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("GitHub webhook: a background read failed (%s); the next poll reads again",
                        task.exception())
