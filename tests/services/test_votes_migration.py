"""The votes tables created by migration 0002 are exactly the models (on both databases)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from storage.db import Database

VOTE_TABLES = {"vote", "vote_electorate", "ballot", "vote_event"}


def _touches_votes(diff: Any) -> bool:
    for part in diff if isinstance(diff, list) else [diff]:
        for item in part:
            name = getattr(item, "name", None) or getattr(getattr(item, "table", None), "name", None)
            if name in VOTE_TABLES or item in VOTE_TABLES:
                return True
    return False


async def test_votes_migration_matches_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                          SQLModel.metadata))
    assert [d for d in diffs if _touches_votes(d)] == []
