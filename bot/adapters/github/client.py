"""GitHub's REST API through gidgethub (its aiohttp backend): conditional reads with its ETag cache, the
comments the minutes become, and GitHub's failures turned into the outbox's ``DeliveryError`` with the
wait GitHub asked for (``Retry-After``, ``X-RateLimit-Reset``). The token is given to gidgethub only; no
message built here contains it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI
from gidgethub.sansio import RateLimit

from bot.clock import Clock
from bot.contracts.github import GitHubUnavailable, LabelledIssue
from bot.contracts.outbound import DeliveryError

log = logging.getLogger("quorum.github")

USER_AGENT = "quorum-meeting-bot"  # GitHub requires a User-Agent naming the application
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
# Fetching an item's title while a member waits for their reply: never longer than this.
TITLE_TIMEOUT_SECONDS = 3.0
# GitHub: "If you receive a secondary rate limit error without retry-after or x-ratelimit-reset, wait at
# least one minute before retrying."
SECONDARY_LIMIT_WAIT = 60.0
T = TypeVar("T")


def failure(exc: BaseException, now: datetime) -> DeliveryError:
    """What a failed call means for the outbox: transient (retried after the wait GitHub asked for) or
    not (given up and shown in ``quorum outbox``)."""
    if isinstance(exc, gidgethub.RateLimitExceeded):
        reset = exc.rate_limit.reset_datetime if exc.rate_limit is not None else None
        wait = max((reset - now).total_seconds(), 1.0) if reset is not None else SECONDARY_LIMIT_WAIT
        return DeliveryError(f"GitHub rate limit used up (resets at {reset:%H:%M:%S}Z)" if reset else
                             "GitHub rate limit used up", retry_after=wait)
    if isinstance(exc, gidgethub.HTTPException):
        status = int(exc.status_code)
        # gidgethub passes GitHub's "message" (None when the body had none).
        message = str(exc.args[0]) if exc.args and exc.args[0] else exc.status_code.phrase
        retry_after = _retry_after(exc.headers, now)
        if status == 429 or (status == 403 and (retry_after is not None or "rate limit" in message.lower())):
            return DeliveryError(f"GitHub {status}: {message}",
                                 retry_after=retry_after if retry_after is not None else SECONDARY_LIMIT_WAIT)
        if status >= 500:
            return DeliveryError(f"GitHub {status}: {message}", retry_after=retry_after)
        return DeliveryError(f"GitHub {status}: {message}", transient=False)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return DeliveryError(f"GitHub unreachable: {type(exc).__name__}")
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def _retry_after(headers: Any, now: datetime) -> float | None:
    """Seconds to wait from ``Retry-After``, else from ``X-RateLimit-Reset`` when none remain."""
    value = headers.get("retry-after") if headers else None
    if value is not None and str(value).strip().isdigit():
        return float(value)
    limit = RateLimit.from_http(headers) if headers else None
    if limit is not None and limit.remaining <= 0:
        return max((limit.reset_datetime - now).total_seconds(), 1.0)
    return None


class GitHubClient:
    """One per process. Its ETag cache lives as long as the process: an unchanged listing is answered
    304, which GitHub does not count against the rate limit."""

    platform = "github"

    def __init__(self, token: str, base_url: str, clock: Clock) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._cache: dict[str, Any] = {}
        self._session: aiohttp.ClientSession | None = None
        self._api: GitHubAPI | None = None
        # Set when a response said no requests remain: until then nothing is sent (GitHub may ban an
        # integration that keeps calling while rate-limited).
        self._blocked_until: datetime | None = None

    def __repr__(self) -> str:  # never the token
        return f"GitHubClient(base_url={self.base_url!r})"

    def api(self) -> GitHubAPI:
        if self._api is None:
            self._session = aiohttp.ClientSession(timeout=REQUEST_TIMEOUT)
            self._api = GitHubAPI(self._session, USER_AGENT, oauth_token=self._token, cache=self._cache,
                                  base_url=self.base_url)
        return self._api

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._session = self._api = None

    async def call(self, request: Callable[[GitHubAPI], Awaitable[T]]) -> T:
        """Run one request (or a paginated listing); raise ``DeliveryError`` saying what went wrong."""
        now = self.clock.now()
        if self._blocked_until is not None and now < self._blocked_until:
            raise DeliveryError(f"GitHub rate limit used up until {self._blocked_until:%H:%M:%S}Z",
                                retry_after=(self._blocked_until - now).total_seconds())
        api = self.api()
        before = api.rate_limit
        try:
            result = await request(api)
        except Exception as exc:
            error = failure(exc, now)
            if error.retry_after is not None and error.transient:
                self._blocked_until = now + timedelta(seconds=error.retry_after)
            raise error from exc
        after = api.rate_limit
        # gidgethub replaces ``rate_limit`` on each answer it deciphers (not on a 304 from its cache).
        if after is not None and after is not before and after.remaining <= 0:
            self._blocked_until = after.reset_datetime
        return result

    # -- reading -------------------------------------------------------------------------------------------

    async def labelled(self, repo: str, label: str) -> list[LabelledIssue]:
        owner, name = repo.split("/", 1)
        try:
            issues = await self.call(lambda api: _collect(api.getiter(
                "/repos/{owner}/{repo}/issues{?labels,state,per_page}",
                {"owner": owner, "repo": name, "labels": label, "state": "open", "per_page": "100"})))
            found = []
            for issue in issues:
                labelled_at, by = await self._labelled_moment(owner, name, int(issue["number"]), label)
                if labelled_at is None:
                    log.warning("GitHub %s#%s carries %r but lists no 'labeled' event for it; skipped",
                                repo, issue["number"], label)
                    continue
                found.append(LabelledIssue(repo=repo, number=int(issue["number"]), title=str(issue["title"]),
                                           url=str(issue["html_url"]), labelled_at=labelled_at, labelled_by=by))
            return found
        except DeliveryError as exc:
            raise GitHubUnavailable(str(exc)) from exc

    async def _labelled_moment(self, owner: str, repo: str, number: int,
                               label: str) -> tuple[datetime | None, str | None]:
        """When ``label`` was last added (the latest ``labeled`` event), and by whom."""
        events = await self.call(lambda api: _collect(api.getiter(
            "/repos/{owner}/{repo}/issues/{number}/events{?per_page}",
            {"owner": owner, "repo": repo, "number": str(number), "per_page": "100"})))
        moment: datetime | None = None
        by: str | None = None
        for event in events:
            if event.get("event") == "labeled" and str((event.get("label") or {}).get("name", "")).lower() \
                    == label.lower():
                when = _instant(str(event["created_at"]))
                if moment is None or when >= moment:
                    moment, by = when, (event.get("actor") or {}).get("login")
        return moment, by

    async def title(self, repo: str, number: int) -> str:
        owner, name = repo.split("/", 1)
        try:
            async with asyncio.timeout(TITLE_TIMEOUT_SECONDS):
                issue = await self.call(lambda api: api.getitem(
                    "/repos/{owner}/{repo}/issues/{number}", {"owner": owner, "repo": name, "number": str(number)}))
        except TimeoutError as exc:
            raise GitHubUnavailable(f"GitHub did not answer within {TITLE_TIMEOUT_SECONDS:g} s") from exc
        except DeliveryError as exc:
            raise GitHubUnavailable(str(exc)) from exc
        return str(issue["title"])

    # -- writing -------------------------------------------------------------------------------------------

    async def upsert_comment(self, repo: str, number: int, body: str, marker: str, known_id: str | None) -> str:
        """Make sure issue ``number`` has one comment carrying ``marker`` with ``body``; return its id.
        GitHub comments take no idempotency key, so the hidden marker is the key: a comment id already
        known is edited; otherwise the issue's comments are searched for the marker (a post whose answer
        was lost, or another replica's) and that one is edited; only if none has it is one created."""
        owner, name = repo.split("/", 1)
        if known_id is not None and known_id.isdigit():
            try:
                await self.call(lambda api: api.patch(
                    "/repos/{owner}/{repo}/issues/comments/{id}", {"owner": owner, "repo": name, "id": known_id},
                    data={"body": body}))
                return known_id
            except DeliveryError as exc:
                if "GitHub 404" not in str(exc):  # deleted by someone: make it again below
                    raise
        comments = await self.call(lambda api: _collect(api.getiter(
            "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}",
            {"owner": owner, "repo": name, "number": str(number), "per_page": "100"})))
        mine = [c for c in comments if marker in str(c.get("body") or "")]
        if mine:
            found = str(mine[0]["id"])
            if mine[0].get("body") != body:
                await self.call(lambda api: api.patch(
                    "/repos/{owner}/{repo}/issues/comments/{id}", {"owner": owner, "repo": name, "id": found},
                    data={"body": body}))
            return found
        made = await self.call(lambda api: api.post(
            "/repos/{owner}/{repo}/issues/{number}/comments", {"owner": owner, "repo": name, "number": str(number)},
            data={"body": body}))
        return str(made["id"])


async def _collect(pages: AsyncIterator[Any]) -> list[dict[str, Any]]:
    return [item async for item in pages]


def _instant(text: str) -> datetime:
    """GitHub's ISO 8601 timestamps (``2022-03-01T09:00:00Z``)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)

