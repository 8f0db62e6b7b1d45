"""``/health/ready`` says whether this process can serve (database reachable and migrated, each configured
platform connected) and why not; ``/metrics`` exposes commands, deliveries, the outbox backlog, feed
requests and scheduler wake-ups in Prometheus' text format, behind a bearer token when one is set."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App, Platform, build_app
from bot.clock import ManualClock
from bot.config import Secrets, Settings
from bot.contracts.reply import Reply
from bot.web.routes import build_web_app
from storage.migrate import upgrade_sync
from tests.helpers import SEED_SERIES, Members, ok


@pytest.fixture
async def app(settings: Settings, clock: ManualClock, database_url: str) -> AsyncIterator[App]:
    built = build_app(replace(settings, database_url=database_url), clock, platforms=())
    yield built
    await built.close()


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app.web_app)) as test_client:
        yield test_client


async def test_ready_once_the_database_is_migrated_and_answers(client: TestClient) -> None:
    response = await client.get("/health/ready")
    assert response.status == 200 and await response.json() == {"ok": True}


async def test_not_ready_while_starting() -> None:
    async with TestClient(TestServer(build_web_app())) as client:
        response = await client.get("/health/ready")
        assert response.status == 503 and await response.json() == {"ok": False, "problems": ["starting up"]}


async def test_not_ready_on_a_database_an_older_release_made(settings: Settings, clock: ManualClock,
                                                            tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade_sync, url, "0007")
    app = build_app(replace(settings, database_url=url), clock, platforms=())
    try:
        async with TestClient(TestServer(app.web_app)) as client:
            response = await client.get("/health/ready")
            body = await response.json()
        assert response.status == 503 and response.headers["Retry-After"] == "5"
        assert body["problems"] == ["the database is not migrated to this release: run `quorum db upgrade`"]
        await app.migrate()
        async with TestClient(TestServer(app.web_app)) as client:
            assert (await client.get("/health/ready")).status == 200
    finally:
        await app.close()


async def test_not_ready_when_the_database_does_not_answer(settings: Settings, clock: ManualClock) -> None:
    # Nothing listens on port 9 (discard) here: the connection is refused at once.
    url = "postgresql+asyncpg://quorum:hunter2-password@127.0.0.1:9/quorum"
    app = build_app(replace(settings, database_url=url), clock, platforms=())
    try:
        async with TestClient(TestServer(app.web_app)) as client:
            response = await client.get("/health/ready")
            body = await response.json()
    finally:
        await app.close()
    assert response.status == 503
    (problem,) = body["problems"]
    assert problem.startswith("the database does not answer (") and "127.0.0.1:9/quorum" in problem
    assert "hunter2" not in problem


async def test_not_ready_while_a_configured_platform_is_not_connected(settings: Settings, clock: ManualClock,
                                                                      database_url: str) -> None:
    configured = replace(settings, database_url=database_url, secrets=Secrets(discord_token="not-connected-token"))
    discord: tuple[Platform, ...] = ("discord",)
    app = build_app(configured, clock, platforms=discord)  # built, never started: not connected
    try:
        async with TestClient(TestServer(app.web_app)) as client:
            response = await client.get("/health/ready")
            body = await response.json()
    finally:
        await app.close()
    assert response.status == 503 and body["problems"] == ["Discord is not connected (see the log for why)"]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    return _samples(await response.text())


async def test_metrics_count_commands_by_name_and_outcome_with_their_latency(
        app: App, client: TestClient, members: Members) -> None:
    before = await _scrape(client)
    await ok(app.dispatcher, members.chair(), SEED_SERIES)
    not_a_chair = await app.dispatcher.run_text(SEED_SERIES.replace("community", "other"), members.member("bob"))
    mistyped = await app.dispatcher.run_text("/meeting serie create", members.member("bob"))
    assert not not_a_chair.ok and not mistyped.ok
    after = await _scrape(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("quorum_commands_total", command="meeting series create", outcome="ok") == 1
    assert delta("quorum_commands_total", command="meeting series create", outcome="refused") == 1
    assert delta("quorum_commands_total", command="(unparsed)", outcome="refused") == 1
    assert delta("quorum_command_seconds_count", command="meeting series create") == 2
    assert delta("quorum_command_seconds_bucket", command="meeting series create", le="+Inf") == 2


async def test_metrics_show_the_outbox_backlog_its_lag_and_deliveries(app: App, client: TestClient,
                                                                      clock: ManualClock) -> None:
    async with app.db.write() as session:
        for key in ("metrics:a", "metrics:b"):
            await app.services.outbox.enqueue(session, key=key, workspace_id="tvm", kind="channel", target="general",
                                              reply=Reply("hello"), due_at=clock.now())
    clock.advance(timedelta(minutes=5))
    waiting = await _scrape(client)
    assert waiting[("quorum_outbox_backlog", ())] == 2
    assert waiting[("quorum_outbox_oldest_due_lag_seconds", ())] == 300
    sent_before = waiting.get(("quorum_deliveries_total", (("outcome", "sent"), ("platform", "console"))), 0.0)

    await app.services.outbox_dispatcher.dispatch_due()
    drained = await _scrape(client)
    assert drained[("quorum_outbox_backlog", ())] == 0
    assert drained[("quorum_outbox_oldest_due_lag_seconds", ())] == 0
    assert drained[("quorum_deliveries_total", (("outcome", "sent"), ("platform", "console")))] == sent_before + 2


async def test_metrics_count_feed_answers_and_scheduler_wakeups(app: App, client: TestClient,
                                                                members: Members) -> None:
    await ok(app.dispatcher, members.chair(), SEED_SERIES)
    before = await _scrape(client)
    first = await client.get("/calendar/community.ics")
    await client.get("/calendar/community.ics", headers={"If-None-Match": first.headers["ETag"]})
    await app.ticker.tick()
    after = await _scrape(client)
    for status in ("200", "304"):
        key = ("quorum_feed_requests_total", (("status", status),))
        assert after[key] - before.get(key, 0.0) == 1, status
    wakeups = ("quorum_scheduler_wakeups_total", ())
    assert after[wakeups] - before.get(wakeups, 0.0) == 1


async def test_metrics_ask_for_the_bearer_token_when_one_is_set(settings: Settings, clock: ManualClock,
                                                                database_url: str) -> None:
    guarded = replace(settings, database_url=database_url, secrets=Secrets(metrics_token="scrape-me-please"))
    app = build_app(guarded, clock, platforms=())
    try:
        async with TestClient(TestServer(app.web_app)) as client:
            missing = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer guess"})
            right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
            assert missing.status == 401 and wrong.status == 401
            assert missing.headers["WWW-Authenticate"].startswith("Bearer")
            assert "scrape-me-please" not in await missing.text()
            assert right.status == 200 and "quorum_commands_total" in await right.text()
    finally:
        await app.close()
