"""A small fake of GitHub's REST API for tests, reached through ``GITHUB_API_URL``: issues (and PRs) with
labels and their ``labeled``/``unlabeled`` events, and issue comments. It answers with the fields and
status codes GitHub documents: ``ETag`` on reads and 304 for a matching ``If-None-Match`` (not counted
against the rate limit), 404, 422 (``Validation Failed`` with ``errors``), the ``X-RateLimit-*`` headers,
and scripted failures (500, 403/429 with ``Retry-After`` or ``X-RateLimit-Remaining: 0``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.clock import Clock

TOKEN = "github_pat_11TESTSECRET0000000000"
RATE_LIMIT = 5000


@dataclass
class Issue:
    number: int
    title: str
    user: str
    is_pr: bool = False
    state: str = "open"
    labels: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=lambda: {"message": "Server Error"})
    # The request is carried out first and only its answer is lost (a timeout after GitHub acted).
    after_acting: bool = False


@dataclass
class Request:
    method: str
    path: str
    status: int
    authorization: str | None
    if_none_match: str | None


class FakeGitHub:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.repos: dict[str, dict[int, Issue]] = {}
        self.comments: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.requests: list[Request] = []
        self.failures: list[tuple[str, str, Failure]] = []  # (method, path fragment, failure), used once each
        self.remaining = RATE_LIMIT
        self._next_comment = 9000
        self._event_id = 100
        self._server: TestServer | None = None

    # -- test controls -----------------------------------------------------------------------------------

    def issue(self, repo: str, number: int, title: str, user: str = "octocat", *, pr: bool = False) -> Issue:
        found = Issue(number, title, user, is_pr=pr)
        self.repos.setdefault(repo, {})[number] = found
        return found

    def label(self, repo: str, number: int, label: str, by: str, at: datetime | None = None) -> None:
        issue = self.repos[repo][number]
        issue.labels.add(label)
        issue.events.append(self._event("labeled", label, by, at))

    def unlabel(self, repo: str, number: int, label: str, by: str) -> None:
        issue = self.repos[repo][number]
        issue.labels.discard(label)
        issue.events.append(self._event("unlabeled", label, by, None))

    def fail(self, method: str, path_fragment: str, *failures: Failure) -> None:
        self.failures.extend((method, path_fragment, f) for f in failures)

    def charged(self) -> int:
        """Requests that counted against the rate limit (all but 304s)."""
        return sum(1 for r in self.requests if r.status != 304)

    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    def _event(self, kind: str, label: str, by: str, at: datetime | None) -> dict[str, Any]:
        self._event_id += 1
        when = at or self.clock.now()
        return {"id": self._event_id, "event": kind, "actor": {"login": by, "id": 1},
                "label": {"name": label, "color": "ededed"},
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}

    # -- server ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/repos/{owner}/{repo}/issues", self._list_issues)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number:\\d+}", self._get_issue)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number:\\d+}/events", self._events)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number:\\d+}/comments", self._comments)
        app.router.add_post("/repos/{owner}/{repo}/issues/{number:\\d+}/comments", self._create_comment)
        app.router.add_patch("/repos/{owner}/{repo}/issues/comments/{id:\\d+}", self._edit_comment)
        self._server = TestServer(app)
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    def _rate_headers(self) -> dict[str, str]:
        reset = int(self.clock.now().timestamp()) + 3600
        return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": str(RATE_LIMIT - self.remaining),
                "X-RateLimit-Resource": "core"}

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        auth = request.headers.get("Authorization")
        failure = self._take_failure(request)
        if auth != f"token {TOKEN}":
            response: web.StreamResponse = web.json_response(
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, status=401)
        elif failure is not None and not failure.after_acting:
            response = web.json_response(failure.body, status=failure.status,
                                         headers={**self._rate_headers(), **failure.headers})
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = web.json_response({"message": exc.reason}, status=exc.status)
            if failure is not None:  # acted, but the answer is lost
                response = web.json_response(failure.body, status=failure.status, headers=failure.headers)
        if response.status != 304:
            self.remaining -= 1
        self.requests.append(Request(request.method, request.path, response.status, auth,
                                     request.headers.get("If-None-Match")))
        return response

    def _take_failure(self, request: web.Request) -> Failure | None:
        for index, (method, fragment, failure) in enumerate(self.failures):
            if method == request.method and fragment in request.path_qs:
                del self.failures[index]
                return failure
        return None

    def _json(self, request: web.Request, data: Any, status: int = 200) -> web.Response:
        """A read's answer with its ETag; 304 with no body when the client's ``If-None-Match`` matches."""
        text = json.dumps(data, sort_keys=True)
        etag = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
        headers = {**self._rate_headers(), "ETag": etag}
        if request.method == "GET" and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(text=text, status=status, content_type="application/json", headers=headers)

    def _issue(self, request: web.Request) -> tuple[str, Issue]:
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        issue = self.repos.get(repo, {}).get(int(request.match_info["number"]))
        if issue is None:
            raise web.HTTPNotFound(reason="Not Found")
        return repo, issue

    def _issue_json(self, repo: str, issue: Issue) -> dict[str, Any]:
        kind = "pull" if issue.is_pr else "issues"
        data: dict[str, Any] = {
            "id": 500000 + issue.number, "number": issue.number, "title": issue.title, "state": issue.state,
            "html_url": f"https://github.com/{repo}/{kind}/{issue.number}",
            "user": {"login": issue.user}, "labels": [{"name": n} for n in sorted(issue.labels)],
        }
        if issue.is_pr:
            data["pull_request"] = {"html_url": data["html_url"]}
        return data

    async def _list_issues(self, request: web.Request) -> web.Response:
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repo not in self.repos:
            raise web.HTTPNotFound(reason="Not Found")
        wanted = {n for n in request.query.get("labels", "").split(",") if n}
        state = request.query.get("state", "open")
        found = [self._issue_json(repo, i) for i in sorted(self.repos[repo].values(), key=lambda i: -i.number)
                 if wanted <= i.labels and (state == "all" or i.state == state)]
        return self._json(request, found)

    async def _get_issue(self, request: web.Request) -> web.Response:
        repo, issue = self._issue(request)
        return self._json(request, self._issue_json(repo, issue))

    async def _events(self, request: web.Request) -> web.Response:
        _repo, issue = self._issue(request)
        return self._json(request, issue.events)

    async def _comments(self, request: web.Request) -> web.Response:
        repo, issue = self._issue(request)
        return self._json(request, self.comments.get((repo, issue.number), []))

    async def _create_comment(self, request: web.Request) -> web.Response:
        repo, issue = self._issue(request)
        body = (await request.json()).get("body")
        if not body:
            return web.json_response({"message": "Validation Failed", "errors": [
                {"resource": "IssueComment", "code": "missing_field", "field": "body"}]}, status=422)
        self._next_comment += 1
        comment = {"id": self._next_comment, "body": body, "user": {"login": "quorum-bot"},
                   "html_url": f"https://github.com/{repo}/issues/{issue.number}#issuecomment-{self._next_comment}"}
        self.comments.setdefault((repo, issue.number), []).append(comment)
        return web.json_response(comment, status=201, headers=self._rate_headers())

    async def _edit_comment(self, request: web.Request) -> web.Response:
        wanted = int(request.match_info["id"])
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == wanted:
                    comment["body"] = (await request.json())["body"]
                    return web.json_response(comment, headers=self._rate_headers())
        raise web.HTTPNotFound(reason="Not Found")

    def all_comments(self) -> list[dict[str, Any]]:
        return [c for comments in self.comments.values() for c in comments]
