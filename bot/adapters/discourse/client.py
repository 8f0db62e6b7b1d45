"""A small client for the parts of Discourse's REST API Quorum uses (https://docs.discourse.org).

Raw aiohttp on purpose: the Python Discourse clients are either synchronous (pydiscourse, on requests,
which would stall the event loop) or not published in a usable form (aiodiscourse), and the handful of
documented endpoints below is all Quorum needs. Every failure becomes a ``DeliveryError`` the outbox
understands: 429 and 5xx and network trouble are transient (429 carries the forum's ``Retry-After``),
other refusals are final. The API key travels only in the ``Api-Key`` header and is never logged or put
in an error message."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import aiohttp

from bot.contracts.outbound import DeliveryError

log = logging.getLogger("quorum.forum")

# Discourse returns at most this many posts per page of a topic's post stream.
POSTS_PER_PAGE = 20


class ForumRefused(DeliveryError):
    """A final 4xx answer; ``status`` and the forum's own ``errors`` are kept for the caller."""

    def __init__(self, status: int, errors: list[str]) -> None:
        text = "; ".join(errors) or "no reason given"
        super().__init__(f"the forum answered {status}: {text}", transient=False)
        self.status = status
        self.errors = errors


class DiscourseClient:
    def __init__(self, base_url: str, username: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._headers = {"Api-Key": api_key, "Api-Username": username, "Accept": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # never the key
        return f"DiscourseClient({self.base_url!r}, username={self.username!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def request(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                      params: Iterable[tuple[str, str]] | None = None, seconds: float | None = None,
                      missing_ok: bool = False) -> dict[str, Any] | None:
        """One call; the decoded JSON answer, or None for a 404 when ``missing_ok``."""
        url = self.base_url + path
        try:
            async with self._http().request(
                method, url, json=json, params=list(params) if params is not None else None,
                timeout=aiohttp.ClientTimeout(total=seconds) if seconds is not None else None,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryError(f"the forum did not answer {method} {path}: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return body if isinstance(body, dict) else {}
        errors = _errors(body)
        if status == 404 and missing_ok:
            return None
        if status == 429:
            raise DeliveryError(f"the forum asked to slow down (429) on {method} {path}", transient=True,
                                retry_after=_wait_seconds(retry_after, body))
        if status >= 500:
            raise DeliveryError(f"the forum failed ({status}) on {method} {path}", transient=True)
        if status in (401, 403):
            raise ForumRefused(status, errors or [
                "the API key was refused: check DISCOURSE_API_KEY, its user and its scopes (docs/forum.md)"])
        raise ForumRefused(status, errors)

    # -- topics ------------------------------------------------------------------------------
    async def topic_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        """GET /t/external_id/{external_id}.json (Discourse redirects to the topic; aiohttp follows)."""
        return await self.request("GET", f"/t/external_id/{external_id}.json", missing_ok=True)

    async def topic(self, topic_id: int, *, seconds: float | None = None) -> dict[str, Any] | None:
        """GET /t/{id}.json; ``seconds``: give up sooner than the client's usual timeout."""
        return await self.request("GET", f"/t/{topic_id}.json", missing_ok=True, seconds=seconds)

    async def create_topic(self, *, title: str, raw: str, category: int | None, external_id: str) -> dict[str, Any]:
        """POST /posts.json with a title: a new topic. A second topic with the same ``external_id`` is
        refused with 422, which is what makes opening a topic exactly-once at the forum."""
        payload: dict[str, Any] = {"title": title, "raw": raw, "external_id": external_id}
        if category is not None:
            payload["category"] = category
        return await self.request("POST", "/posts.json", json=payload) or {}

    async def set_title(self, topic_id: int, title: str) -> None:
        await self.request("PUT", f"/t/-/{topic_id}.json", json={"title": title})

    # -- posts -------------------------------------------------------------------------------
    async def reply(self, topic_id: int, raw: str) -> dict[str, Any]:
        return await self.request("POST", "/posts.json", json={"topic_id": topic_id, "raw": raw}) or {}

    async def edit_post(self, post_id: int, raw: str) -> None:
        await self.request("PUT", f"/posts/{post_id}.json", json={"post": {"raw": raw}})

    async def posts_of(self, topic: dict[str, Any]) -> list[dict[str, Any]]:
        """Every post of a topic with its ``raw`` markdown, a page of ids at a time
        (GET /t/{id}/posts.json?post_ids[]=..&include_raw=true: within the ``topics: read`` scope, unlike
        GET /posts/{id}.json)."""
        stream = (topic.get("post_stream") or {}).get("stream") or []
        posts: list[dict[str, Any]] = []
        for start in range(0, len(stream), POSTS_PER_PAGE):
            page = stream[start:start + POSTS_PER_PAGE]
            body = await self.request("GET", f"/t/{topic['id']}/posts.json",
                                      params=[("include_raw", "true"), *(("post_ids[]", str(i)) for i in page)])
            posts.extend(((body or {}).get("post_stream") or {}).get("posts") or [])
        return posts

    # -- categories --------------------------------------------------------------------------
    async def category_id(self, wanted: str) -> int:
        """A category given by id or slug (or name) -> its id (GET /categories.json)."""
        if wanted.isdigit():
            return int(wanted)
        body = await self.request("GET", "/categories.json") or {}
        for category in (body.get("category_list") or {}).get("categories") or []:
            if wanted.lower() in (str(category.get("slug", "")).lower(), str(category.get("name", "")).lower()):
                return int(category["id"])
        raise ForumRefused(404, [f"no category '{wanted}' on the forum: set forum_category= to a category's "
                                 "slug or id (docs/forum.md)"])


def _errors(body: Any) -> list[str]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [str(e) for e in body["errors"]]
    return []


def _wait_seconds(header: str | None, body: Any) -> float | None:
    """Retry-After (seconds), else Discourse's ``extras.wait_seconds``."""
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    if isinstance(body, dict):
        wait = (body.get("extras") or {}).get("wait_seconds")
        if isinstance(wait, int | float):
            return float(wait)
    return None
