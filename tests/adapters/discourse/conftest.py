from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.adapters.discourse.client import DiscourseClient
from tests.fakes.discourse import API_KEY, USERNAME, FakeDiscourse


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    fake = await FakeDiscourse().start()
    yield fake
    await fake.close()


@pytest.fixture
async def client(forum: FakeDiscourse) -> AsyncIterator[DiscourseClient]:
    made = DiscourseClient(forum.url, USERNAME, API_KEY)
    yield made
    await made.close()
