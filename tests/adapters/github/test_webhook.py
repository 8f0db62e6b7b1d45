"""``POST /github/webhook`` (docs/github.md): signed deliveries read the repository at once; a missing or
wrong signature is a 401 that changes nothing; a signed ping is answered 2xx; a delivery is handled once."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.clock import ManualClock
from tests.adapters.github.conftest import LABEL, REPO, signed
from tests.adapters.github.fake_github import FakeGitHub
from tests.helpers import SEED_SERIES, Members, ok

LINK = "https://github.com/apache/tvm/issues/7"


def labeled_payload(repo: str = REPO) -> dict[str, Any]:
    """The fields of an ``issues`` ``labeled`` delivery that matter here (GitHub sends many more)."""
    return {"action": "labeled", "label": {"name": LABEL}, "issue": {"number": 7, "title": "Webhook topic"},
            "repository": {"full_name": repo}, "sender": {"login": "bob-gh"}}


async def items(app: App) -> list[str]:
    view = await app.services.agenda.list("tvm")
    return [item.link for item in view.agenda]


async def test_signed_deliveries(app: App, fake_github: FakeGitHub, clock: ManualClock, members: Members) -> None:
    await ok(app.dispatcher, members.chair(), SEED_SERIES)
    fake_github.issue(REPO, 7, "Webhook topic")
    fake_github.label(REPO, 7, LABEL, by="bob-gh")
    async with TestClient(TestServer(app.web_app)) as client:
        # A signed ping (sent when the webhook is created) is answered 2xx and reads nothing.
        body, headers = signed("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 200 and (await response.json())["pong"] is True
        assert fake_github.requests == []

        # A wrong signature, or none: 401, nothing read, nothing added.
        body, headers = signed("issues", labeled_payload(), secret="not-the-secret")
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 401
        body, headers = signed("issues", labeled_payload())
        unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
        response = await client.post("/github/webhook", data=body, headers=unsigned)
        assert response.status == 401
        # The body changed after signing (a signature for other bytes) is refused too.
        response = await client.post("/github/webhook", data=body.replace(b"labeled", b"unlabeled"),
                                     headers=headers)
        assert response.status == 401
        assert fake_github.requests == [] and await items(app) == []

        # Signed: the repository is read at once and the item added.
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 200 and (await response.json())["added"]
        assert await items(app) == [LINK]
        # GitHub redelivers the same delivery: handled once (nothing read again).
        read = len(fake_github.requests)
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 200 and (await response.json())["duplicate"] is True
        assert len(fake_github.requests) == read and await items(app) == [LINK]

        # Unlabelled on GitHub, signalled by a new delivery: the item goes (the agenda is open).
        fake_github.unlabel(REPO, 7, LABEL, by="bob-gh")
        body, headers = signed("issues", {**labeled_payload(), "action": "unlabeled"})
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 200 and await items(app) == []

        # A repository that is not configured is ignored (and not read).
        read = len(fake_github.requests)
        body, headers = signed("issues", labeled_payload("someone/else"))
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 200 and (await response.json())["ignored"] == "issues"
        assert len(fake_github.requests) == read


async def test_the_webhook_is_off_without_its_secret(services: Any) -> None:
    from bot.web.routes import build_web_app

    async with TestClient(TestServer(build_web_app(services))) as client:
        body, headers = signed("ping", {"zen": "hi"})
        response = await client.post("/github/webhook", data=body, headers=headers)
        assert response.status == 404 and "GITHUB_WEBHOOK_SECRET" in (await response.json())["error"]
