"""Two replicas on one database (issue 15: "never doubled by retries or replicas"): both read the same
label at once and both send the outbox at once; each item is added once and each comment made once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Settings
from tests.adapters.github.conftest import LABEL, REPO, at
from tests.adapters.github.fake_github import FakeGitHub
from tests.helpers import SEED_SERIES, Members, ok

FIRST = at("2022-03-02T16:00:00+00:00")


@pytest.fixture
async def second(github_settings: Settings, clock: ManualClock) -> AsyncIterator[App]:
    replica = build_app(github_settings, clock=clock, platforms=())
    yield replica
    await replica.close()


async def test_two_replicas_add_once_and_comment_once(app: App, second: App, fake_github: FakeGitHub,
                                                      clock: ManualClock, members: Members) -> None:
    await ok(app.dispatcher, members.chair(), SEED_SERIES)
    for number in (11, 12, 13):
        fake_github.issue(REPO, number, f"Topic {number}")
        fake_github.label(REPO, number, LABEL, by="bob-gh", at=at("2022-03-01T10:00:00+00:00"))
    await asyncio.gather(app.services.github.sync_repo(REPO), second.services.github.sync_repo(REPO),
                         app.services.github.sync_repo(REPO))
    view = await app.services.agenda.list("tvm")
    assert sorted(item.title for item in view.agenda) == ["Topic 11", "Topic 12", "Topic 13"]
    assert sorted(item.position for item in view.agenda) == [1, 2, 3]

    clock.set(FIRST + timedelta(minutes=10))
    for item in view.agenda:
        await ok(app.dispatcher, members.chair(), f'/notes add "Notes on {item.title}" item=#{item.id}')
    await ok(app.dispatcher, members.chair(), "/notes publish")
    await asyncio.gather(app.services.outbox_dispatcher.dispatch_due(),
                         second.services.outbox_dispatcher.dispatch_due())
    assert sorted(len(comments) for comments in fake_github.comments.values()) == [1, 1, 1]
    assert sum(1 for r in fake_github.requests if r.method == "POST") == 3
