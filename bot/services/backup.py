"""Backups that restore: ``quorum export --format json`` carries every row of every table (besides the
SPEC's stable keys), and ``quorum import`` puts them back into an empty database, SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import InvalidInput
from storage import backup
from storage.db import Database


@dataclass(frozen=True)
class Restored:
    rows: dict[str, int]  # rows per table

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class BackupService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def snapshot(self) -> dict[str, Any]:
        """The ``schema`` and ``tables`` keys of a full export, read in one snapshot."""
        async with self.db.read() as session:
            return {"schema": await backup.schema_revision(session), "tables": await backup.dump(session)}

    async def restore(self, export: Mapping[str, Any]) -> Restored:
        """Every row of ``export`` (a full ``quorum export --format json``) into this database, which must be
        empty, in one transaction: all of it or, on any problem, nothing."""
        tables = export.get("tables")
        if not isinstance(tables, dict):
            raise InvalidInput("This export has no 'tables' section, so it cannot be restored: it is an export of "
                               "one series (--series), or from a version before `quorum import`. Export "
                               "everything with `quorum export --format json` and import that file.")
        async with self.db.write() as session:
            here = await backup.schema_revision(session)
            if export.get("schema") != here:
                raise InvalidInput(f"This export was written at database schema {export.get('schema')!r}, and this "
                                   f"version of Quorum is at {here!r}: import it with the version that wrote it "
                                   "(then upgrade), or export it again with this one.")
            held = await backup.row_counts(session)
            if held:
                listed = ", ".join(f"{count} {table}" for table, count in sorted(held.items())[:5])
                raise InvalidInput(f"This database already holds records ({listed}{', ...' if len(held) > 5 else ''}): "
                                   "import restores into an empty database only. Point QUORUM_DATABASE_URL (or "
                                   "[database] url) at a new database and import again.")
            try:
                rows = await backup.restore(session, tables)
            except ValueError as exc:
                raise InvalidInput(f"This export does not fit this version's database ({exc}); import it with "
                                   "the version that wrote it.") from exc
        return Restored(rows)
