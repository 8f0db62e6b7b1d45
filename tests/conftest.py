"""Shared fixtures: a real database per test (SQLite file and PostgreSQL), an injected clock,
settings, services and members.

Every test that takes ``database_url`` (or anything built on it) runs twice: on a fresh SQLite file and
on PostgreSQL (``QUORUM_TEST_POSTGRES_URL``, else a local ``quorum_test`` database). With ``CI=true`` an
unreachable PostgreSQL fails the run instead of skipping it."""

from __future__ import annotations

import asyncio
import os
import shutil
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Results must come from the tzdata wheel, not from whatever zone files the machine has.
os.environ["PYTHONTZPATH"] = ""
zoneinfo.reset_tzpath(to=[])

import pytest  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.app import build_services  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.commands import catalog  # noqa: E402,F401  (registers commands)
from bot.commands.dispatcher import Dispatcher  # noqa: E402
from bot.config import RoleConfig, Settings  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade_sync  # noqa: E402
from tests.helpers import Members  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_test"


def postgres_url() -> str:
    return os.environ.get("QUORUM_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


async def _connect(url: str) -> Any:
    import asyncpg

    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres",
        password=parsed.password, database=parsed.database, timeout=5,
    )


async def _reset_postgres(url: str) -> None:
    conn = await _connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _truncate_postgres(url: str) -> None:
    conn = await _connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{row["tablename"]}"' for row in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_migrated() -> str | None:
    """Migrate the PostgreSQL test database once per run; None when it is unreachable outside CI."""
    url = postgres_url()
    try:
        asyncio.run(_reset_postgres(url))
    except (OSError, Exception) as exc:  # asyncpg raises several kinds when the server is down
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable "
                        f"in CI: {exc}")
        return None
    upgrade_sync(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "quorum.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url = request.getfixturevalue("postgres_migrated")
    if url is None:
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    asyncio.run(_truncate_postgres(url))
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests that only concern SQLite behaviour (or the console subprocess)."""
    target = tmp_path / "quorum.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    # Tuesday 2022-03-01 12:00 UTC: the week of the seed's first standing meeting.
    return ManualClock(datetime(2022, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        roles={"PMC": RoleConfig("PMC", members=("console:carol",))},
        chair_roles=("PMC",),
        binding_role="PMC",
        default_display_zones=("UTC",),
    )


@pytest.fixture
def services(db: Database, clock: ManualClock, settings: Settings) -> Services:
    return build_services(db, clock, settings)


@pytest.fixture
def dispatcher(services: Services) -> Dispatcher:
    return Dispatcher(services)


@pytest.fixture
def members(settings: Settings) -> Members:
    return Members(settings, workspace="tvm")
