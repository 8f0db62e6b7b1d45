"""Backups that restore: ``quorum export --format json`` of a community's records, ``quorum import`` into an
empty database (SQLite, or PostgreSQL: across engines), after which ``quorum verify`` passes and a second
export is identical. An import into a database that holds records is refused, changing nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_votes_console import console, quorum
from tests.helpers import SEED_SERIES


def _records(tmp_path: Path, url: str) -> None:
    console(tmp_path, url, "alice", [SEED_SERIES, "/vote open \"Adopt the RFC process\" rule=lazy-majority",
                                     "/vote cast #1 +1 \"fine by me\""], "PMC")
    console(tmp_path, url, "bob", ['/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171',
                                   "/vote cast #1 -0", "/me tz Europe/Berlin"])


def test_an_export_imports_into_an_empty_database_verifies_and_exports_identically(
        tmp_path: Path, database_url: str) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    _records(tmp_path, source)
    exported = quorum(tmp_path, source, "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    backup = tmp_path / "backup.json"
    backup.write_text(exported.stdout, encoding="utf-8")
    assert json.loads(exported.stdout)["tables"]["ballot"], "the export carries every table's rows"

    imported = quorum(tmp_path, database_url, "import", str(backup))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith("imported ") and "ok: 1 votes" in imported.stdout
    verified = quorum(tmp_path, database_url, "verify")
    assert verified.returncode == 0, verified.stderr
    again = quorum(tmp_path, database_url, "export", "--format", "json")
    assert again.stdout == exported.stdout

    refused = quorum(tmp_path, database_url, "import", str(backup))
    assert refused.returncode == 1
    assert "already holds records" in refused.stderr and "import restores into an empty database only" in refused.stderr
    assert quorum(tmp_path, database_url, "export", "--format", "json").stdout == exported.stdout


def test_a_series_export_or_a_file_that_is_not_an_export_is_refused_in_one_sentence(tmp_path: Path) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    _records(tmp_path, source)
    partial = tmp_path / "community.json"
    partial.write_text(quorum(tmp_path, source, "export", "--format", "json", "--series", "community").stdout,
                       encoding="utf-8")
    target = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    refused = quorum(tmp_path, target, "import", str(partial))
    assert refused.returncode == 1 and "has no 'tables' section" in refused.stderr
    garbage = tmp_path / "notes.txt"
    garbage.write_text("minutes of the meeting", encoding="utf-8")
    wrong = quorum(tmp_path, target, "import", str(garbage))
    assert wrong.returncode == 2 and "not a Quorum JSON export" in wrong.stderr
    assert "Traceback" not in refused.stderr + wrong.stderr
