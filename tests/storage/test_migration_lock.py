"""Migrations wait for another process's SQLite write lock (``quorum run`` or ``quorum db upgrade`` next to a
running bot), as long as a write would, instead of failing with "database is locked"."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from alembic.script import ScriptDirectory

from storage.migrate import alembic_config, upgrade_sync


def test_a_migration_waits_for_a_lock_another_process_holds_briefly(tmp_path: Path) -> None:
    path = tmp_path / "quorum.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(url, "0007")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writes...
    # ...for a moment longer than SQLite's short busy wait of ordinary writes. The timer releases a lock;
    # the test waits for that lock, never for time.
    def let_go() -> None:
        other.execute("COMMIT")
        other.close()

    release = threading.Timer(0.3, let_go)
    release.start()
    try:
        upgrade_sync(url)
    finally:
        release.join()
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    with sqlite3.connect(path) as conn:
        assert {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")} == heads
