"""Quorum built as ``quorum run`` builds it (bot/app.py), with GitHub on and pointed at a local fake
GitHub through ``GITHUB_API_URL``, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import GitHubConfig, Secrets, Settings
from storage.queries import outbox as outbox_q
from tests.adapters.github.fake_github import TOKEN, FakeGitHub

REPO = "apache/tvm"
LABEL = "tvm-meeting"
WEBHOOK_SECRET = "whsec-test-7f3a9c"


@pytest.fixture
async def fake_github(clock: ManualClock) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(clock)
    await fake.start()
    fake.repos.setdefault(REPO, {})
    yield fake
    await fake.close()


@pytest.fixture
def github_settings(settings: Settings, fake_github: FakeGitHub, database_url: str) -> Settings:
    return replace(
        settings, database_url=database_url,
        github=GitHubConfig(repositories=(REPO,), labels={"community": LABEL}, poll_seconds=300),
        github_api_url=fake_github.url(),
        secrets=Secrets(github_token=TOKEN, github_webhook_secret=WEBHOOK_SECRET),
    )


@pytest.fixture
async def app(github_settings: Settings, clock: ManualClock) -> AsyncIterator[App]:
    built = build_app(github_settings, clock=clock, platforms=())
    yield built
    await built.close()


def signed(event: str, payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
           delivery: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": event,
                  "X-GitHub-Delivery": delivery or str(uuid.uuid4()), "X-Hub-Signature-256": signature}


async def drain_github(app: App, clock: ManualClock, rounds: int = 20) -> int:
    """Send the outbox until no GitHub comment is pending, moving the clock to each retry (no sleeps).
    Returns how many rounds it took."""
    for round_number in range(1, rounds + 1):
        await app.services.outbox_dispatcher.dispatch_due()
        async with app.db.read() as session:
            pending = [m.next_attempt_at for m in await outbox_q.all_messages(session)
                       if m.kind == "github_comment" and m.status == "pending"]
        if not pending:
            return round_number
        clock.set(max(clock.now(), min(pending)))
    raise AssertionError("GitHub comments still pending after many rounds")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)
