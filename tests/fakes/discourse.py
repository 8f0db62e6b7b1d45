"""A local fake Discourse: the endpoints Quorum calls, answering with the fields and status codes
Discourse documents (docs.discourse.org): ``Api-Key``/``Api-Username`` auth (403 without), topics created by
POST /posts.json with an ``external_id`` that is unique (422 for a second one), lookups by external id
(a redirect to the topic, 404 when unknown), posts' ``raw`` only with ``include_raw``, post edits, title
edits, replies, categories.

Faults are queued by tests: ``fail_next(status, count, retry_after=...)`` makes the next ``count`` calls
answer ``status`` (a 429 with ``Retry-After``, a 500) before doing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

API_KEY = "test-discourse-key-0123456789"
USERNAME = "quorum-bot"


@dataclass
class FakePost:
    id: int
    topic_id: int
    post_number: int
    username: str
    raw: str
    created_at: datetime
    revisions: int = 1

    def json(self, *, include_raw: bool = True) -> dict[str, Any]:
        shown = {"id": self.id, "topic_id": self.topic_id, "post_number": self.post_number, "username": self.username,
                 "cooked": f"<p>{self.raw}</p>", "created_at": self.created_at.isoformat(), "version": self.revisions}
        return {**shown, "raw": self.raw} if include_raw else shown


@dataclass
class FakeTopic:
    id: int
    title: str
    category_id: int | None
    external_id: str | None
    created_at: datetime
    posts: list[FakePost] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return "-".join(self.title.lower().split())[:40] or "topic"

    def json(self, *, include_raw: bool = False) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "fancy_title": self.title, "slug": self.slug,
                "category_id": self.category_id, "external_id": self.external_id,
                "created_at": self.created_at.isoformat(), "posts_count": len(self.posts),
                "post_stream": {"posts": [p.json(include_raw=include_raw) for p in self.posts[:20]],
                                "stream": [p.id for p in self.posts]}}


@dataclass
class Fault:
    status: int
    retry_after: str | None = None
    after: bool = False  # do the work, then answer the error (the answer was lost on the way back)


class FakeDiscourse:
    def __init__(self) -> None:
        self.topics: dict[int, FakeTopic] = {}
        self.posts: dict[int, FakePost] = {}
        self.categories = [{"id": 7, "slug": "meetings", "name": "Meetings"},
                           {"id": 8, "slug": "votes", "name": "Votes"}]
        self.calls: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.seen_keys: set[str] = set()
        self.delay: float = 0.0  # seconds every answer waits (a slow forum)
        self._next_id = 100
        self.server: TestServer | None = None

    # -- test helpers --------------------------------------------------------------------------
    def fail_next(self, status: int, count: int = 1, *, retry_after: str | None = None) -> None:
        self.faults.extend(Fault(status, retry_after) for _ in range(count))

    def lose_next_write_answer(self) -> None:
        """The next POST or PUT is carried out, but its answer is a 502 (as if the proxy lost it)."""
        self.faults.append(Fault(502, after=True))

    def add_topic(self, title: str, created_at: datetime, username: str = "someone") -> FakeTopic:
        """A topic a member opened on the forum (e.g. a pre-RFC)."""
        topic = FakeTopic(self._id(), title, 7, None, created_at)
        self._add_post(topic, username, f"{title}\n\nText of the proposal.", created_at)
        self.topics[topic.id] = topic
        return topic

    def topic_by_external_id(self, external_id: str) -> FakeTopic | None:
        return next((t for t in self.topics.values() if t.external_id == external_id), None)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] in ("POST", "PUT")]

    # -- the server ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/t/external_id/{external_id}.json", self.by_external_id)
        app.router.add_get("/t/{id:\\d+}.json", self.show_topic)
        app.router.add_get("/t/{slug}/{id:\\d+}.json", self.show_topic)
        app.router.add_get("/t/{id:\\d+}/posts.json", self.topic_posts)
        app.router.add_put("/t/{slug}/{id:\\d+}.json", self.update_topic)
        app.router.add_post("/posts.json", self.create_post)
        app.router.add_get("/posts/{id:\\d+}.json", self.show_post)
        app.router.add_put("/posts/{id:\\d+}.json", self.update_post)
        app.router.add_get("/categories.json", self.list_categories)
        return app

    async def start(self) -> FakeDiscourse:
        self.server = TestServer(self.app())
        await self.server.start_server()
        return self

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        key = request.headers.get("Api-Key", "")
        self.seen_keys.add(key)
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        if key != API_KEY or request.headers.get("Api-Username") != USERNAME:
            return web.json_response({"errors": ["You are not permitted to view the requested resource. "
                                                 "The API username or key is invalid."],
                                      "error_type": "invalid_access"}, status=403)
        if self.faults and self.faults[0].after:
            if request.method not in ("POST", "PUT"):
                passed: web.StreamResponse = await handler(request)
                return passed
            self.faults.pop(0)
            await handler(request)
            return web.Response(status=502, text="Bad Gateway")
        if self.faults and not self.faults[0].after:
            fault = self.faults.pop(0)
            if fault.status == 429:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return web.json_response({"errors": ["You’ve performed this action too many times."],
                                          "error_type": "rate_limit",
                                          "extras": {"wait_seconds": int(fault.retry_after or 5)}},
                                         status=429, headers=headers)
            return web.Response(status=fault.status, text="Internal Server Error")
        response: web.StreamResponse = await handler(request)
        return response

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _add_post(self, topic: FakeTopic, username: str, raw: str, at: datetime) -> FakePost:
        post = FakePost(self._id(), topic.id, len(topic.posts) + 1, username, raw, at)
        topic.posts.append(post)
        self.posts[post.id] = post
        return post

    def _topic(self, request: web.Request) -> FakeTopic:
        topic = self.topics.get(int(request.match_info["id"]))
        if topic is None:
            raise web.HTTPNotFound(text='{"errors":["The requested URL or resource could not be found."],'
                                        '"error_type":"not_found"}', content_type="application/json")
        return topic

    async def by_external_id(self, request: web.Request) -> web.StreamResponse:
        topic = self.topic_by_external_id(request.match_info["external_id"])
        if topic is None:
            return web.json_response({"errors": ["The requested URL or resource could not be found."],
                                      "error_type": "not_found"}, status=404)
        raise web.HTTPFound(f"/t/{topic.slug}/{topic.id}.json")

    async def show_topic(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._topic(request).json(include_raw="include_raw" in request.query))

    async def topic_posts(self, request: web.Request) -> web.StreamResponse:
        topic = self._topic(request)
        wanted = {int(v) for v in request.query.getall("post_ids[]", [])}
        raw = "include_raw" in request.query
        return web.json_response({"post_stream": {"posts": [p.json(include_raw=raw) for p in topic.posts
                                                            if p.id in wanted]}})

    async def update_topic(self, request: web.Request) -> web.StreamResponse:
        topic = self._topic(request)
        body = await request.json()
        title = body.get("title") or (body.get("topic") or {}).get("title")
        if title:
            topic.title = title
        return web.json_response({"basic_topic": {"id": topic.id, "title": topic.title, "slug": topic.slug}})

    async def create_post(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        now = datetime.now(UTC)
        if "topic_id" in body:
            topic = self.topics.get(int(body["topic_id"]))
            if topic is None:
                return web.json_response({"errors": ["Topic not found"], "error_type": "not_found"}, status=404)
            post = self._add_post(topic, request.headers["Api-Username"], body["raw"], now)
            return web.json_response(post.json())
        if not body.get("title") or not body.get("raw"):
            return web.json_response({"errors": ["Title can't be blank"]}, status=422)
        external_id = body.get("external_id")
        if external_id and self.topic_by_external_id(external_id) is not None:
            return web.json_response({"action": "create_post", "errors": ["External ID has already been taken"]},
                                     status=422)
        category = body.get("category")
        if category is not None and all(c["id"] != int(category) for c in self.categories):
            return web.json_response({"errors": ["Category can't be blank"]}, status=422)
        topic = FakeTopic(self._id(), body["title"], int(category) if category is not None else None,
                          external_id, now)
        self.topics[topic.id] = topic
        post = self._add_post(topic, request.headers["Api-Username"], body["raw"], now)
        return web.json_response(post.json())

    async def show_post(self, request: web.Request) -> web.StreamResponse:
        post = self.posts.get(int(request.match_info["id"]))
        if post is None:
            return web.json_response({"errors": ["not found"], "error_type": "not_found"}, status=404)
        return web.json_response(post.json())

    async def update_post(self, request: web.Request) -> web.StreamResponse:
        post = self.posts.get(int(request.match_info["id"]))
        if post is None:
            return web.json_response({"errors": ["not found"], "error_type": "not_found"}, status=404)
        body = await request.json()
        post.raw = body["post"]["raw"]
        post.revisions += 1
        return web.json_response({"post": post.json()})

    async def list_categories(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"category_list": {"categories": self.categories}})
