"""``/health/live`` (and its alias ``/healthz``) answer from the first moment, the other routes 503 until
start-up hands them the services; the listing at ``/`` is paginated and cached, and stays right after
changes made here, changes made by another process, and time passing its first meeting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.services import Services
from bot.services.calendar import LISTING_PAGE_SIZE, REVALIDATE_AFTER
from bot.web.routes import build_web_app, ready
from storage.db import Database
from tests.helpers import SEED_SERIES, Members, ok


async def test_live_answers_before_the_app_is_ready_and_the_routes_after(services: Services) -> None:
    app = build_web_app(slack_http=True)
    async with TestClient(TestServer(app)) as client:
        for path in ("/health/live", "/healthz"):
            response = await client.get(path)
            assert response.status == 200 and await response.json() == {"ok": True}, path
        for method, path in (("GET", "/"), ("GET", "/calendar/community.ics"), ("GET", "/calendar/community"),
                             ("POST", "/slack/events")):
            starting = await client.request(method, path)
            assert starting.status == 503 and starting.headers["Retry-After"] == "5", path
        ready(app, services)
        assert (await client.get("/")).status == 200
        assert (await client.get("/calendar/community.ics")).status == 404  # answered: no such series yet
        assert (await client.get("/health/live")).status == 200


async def test_live_does_not_depend_on_the_database(settings: Settings, clock: ManualClock, tmp_path: Path) -> None:
    # A database that cannot be opened (its "directory" is a file, so it cannot be created either): the
    # process still answers.
    not_a_directory = tmp_path / "not-a-directory"
    not_a_directory.write_text("")
    db = Database(f"sqlite+aiosqlite:///{not_a_directory}/q.db")
    try:
        async with TestClient(TestServer(build_web_app(build_services(db, clock, settings)))) as client:
            assert (await client.get("/health/live")).status == 200
            assert (await client.get("/healthz")).status == 200
    finally:
        await db.dispose()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_web_app(services))) as test_client:
        yield test_client


async def test_page_shows_a_change_made_after_it_was_cached(client: TestClient, dispatcher: Dispatcher,
                                                            members: Members) -> None:
    assert "No public meeting series yet." in await (await client.get("/")).text()
    await ok(dispatcher, members.chair(), SEED_SERIES)
    page = await (await client.get("/")).text()
    assert "TVM Community Meeting" in page and "No agenda items yet." in page
    assert page == await (await client.get("/")).text()  # served again as cached
    await ok(dispatcher, members.member("bob"), '/agenda add "Release 0.9 plan" https://github.com/apache/tvm/issues/1')
    page = await (await client.get("/")).text()
    assert "Release 0.9 plan" in page
    await ok(dispatcher, members.chair(), "/meeting cancel 2022-03-02")
    assert '<div class="meeting cancelled">' in await (await client.get("/")).text()
    await ok(dispatcher, members.chair(), "/calendar private on")
    assert "TVM Community Meeting" not in await (await client.get("/")).text()


async def test_page_drops_a_meeting_once_it_has_started(client: TestClient, dispatcher: Dispatcher,
                                                        members: Members, clock: ManualClock) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    assert "Wed 2022-03-02 08:00" in await (await client.get("/")).text()
    clock.advance(timedelta(days=1, hours=4, seconds=1))  # 2022-03-02 16:00:01 UTC: the first has started
    page = await (await client.get("/")).text()
    assert "Wed 2022-03-02 08:00" not in page and "Wed 2022-03-09 08:00" in page


async def test_page_sees_a_change_made_by_another_process_after_revalidating(
        client: TestClient, db: Database, clock: ManualClock, settings: Settings, members: Members,
        dispatcher: Dispatcher) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    assert "Release 0.9 plan" not in await (await client.get("/")).text()
    # Another replica: its changes notify only itself. Its change is stamped (updated_at) at the same
    # instant as the latest change this replica saw (clocks of replicas differ, and a command takes its
    # time before it waits for the write lock): the listing must see it all the same.
    other = Dispatcher(build_services(db, clock, settings))
    await ok(other, members.member("bob"), '/agenda add "Release 0.9 plan" https://github.com/apache/tvm/issues/1')
    clock.advance(REVALIDATE_AFTER)
    assert "Release 0.9 plan" in await (await client.get("/")).text()


async def test_listing_is_paginated_by_slug(client: TestClient, dispatcher: Dispatcher, members: Members) -> None:
    for n in range(LISTING_PAGE_SIZE + 1):
        await ok(dispatcher, members.chair(), SEED_SERIES.replace("slug=community", f"slug=series-{n:02d}")
                 .replace('name="TVM Community Meeting"', f'name="Series {n:02d}"'))
    first = await (await client.get("/")).text()
    assert first.count("<h2>") == LISTING_PAGE_SIZE and "Series 00" in first and "Series 20" not in first
    assert 'href="/?page=2" rel="next"' in first and "page 1 of 2" in first
    second = await (await client.get("/", params={"page": "2"})).text()
    assert second.count("<h2>") == 1 and "Series 20" in second and 'href="/?page=1" rel="prev"' in second
    assert (await client.get("/", params={"page": "3"})).status == 404
    for bad in ("0", "-1", "two"):
        assert (await client.get("/", params={"page": bad})).status == 400, bad
