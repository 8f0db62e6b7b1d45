"""Migration 0008 counts the ballots of votes opened before it into their running tally."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.migrate import upgrade_sync


def test_the_running_tally_of_existing_votes_is_counted_from_their_ballots(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}", "0007")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO workspace (id, platform, name, created_at) "
                     "VALUES ('tvm', 'console', '', '2022-03-01')")
        for vote_id in (1, 2):
            conn.execute(
                "INSERT INTO vote (id, workspace_id, title, rule, binding_role, opened_by, opened_at, closes_at, "
                "short_forced, status, close_forced, head_digest, electorate_digest, electorate_size) VALUES "
                f"({vote_id}, 'tvm', 'T', 'consensus', 'PMC', 'console:a', '2022-03-01', '2022-03-04', 0, 'open', "
                "0, 'h', 'e', 2)")
        ballots = [(1, "a", "+1", 1), (1, "b", "-0", 1), (1, "c", "+1", 0), (1, "d", "-1", 0), (1, "e", "+0", 0),
                   (2, "a", "-1", 1)]
        conn.executemany(
            "INSERT INTO ballot (vote_id, voter, voter_name, value, binding, cast_at, changes) "
            "VALUES (?, ?, 'n', ?, ?, '2022-03-01', 0)", ballots)
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT id, tally_binding_plus, tally_binding_zero, tally_binding_minus, tally_other_plus, "
            "tally_other_zero, tally_other_minus FROM vote ORDER BY id").fetchall()
    assert rows == [(1, 1, 1, 0, 1, 1, 1), (2, 0, 0, 1, 0, 0, 0)]
