"""Fixtures of the SQLite storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """A Database on its own SQLite file (these tests concern SQLite's read and write paths only)."""
    database = Database(sqlite_url)
    yield database
    await database.dispose()
