"""Migration 0011 numbers existing meetings, agenda items, votes and swaps per workspace in order of id,
sets each workspace's counters to the last number, and lets a second workspace reuse a series slug.
On SQLite with rows that reference the rebuilt series table (foreign keys on)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.migrate import upgrade_sync


def _old_database(path: Path) -> None:
    upgrade_sync(f"sqlite+aiosqlite:///{path}", "0010")
    with sqlite3.connect(path) as conn:
        for ws in ("tvm", "other"):
            conn.execute("INSERT INTO workspace (id, platform, name, created_at) "
                         f"VALUES ('{ws}', 'console', '', '2022-03-01')")
        for series_id, ws, slug in ((1, "tvm", "community"), (2, "other", "dev")):
            conn.execute(
                "INSERT INTO series (id, workspace_id, slug, name, weekday, local_time, timezone, start_date, "
                "duration_minutes, deadline_minutes, display_zones, link_hosts, created_by, created_at, updated_at) "
                f"VALUES ({series_id}, '{ws}', '{slug}', 'N', 2, '08:00', 'UTC', '2022-03-02', 60, 1440, '', '', "
                "'console:a', '2022-03-01', '2022-03-01')")
        # Meetings interleaved between the workspaces, so numbering by id within each workspace matters.
        for meeting_id, series_id, ws in ((1, 1, "tvm"), (2, 2, "other"), (3, 1, "tvm")):
            conn.execute(
                "INSERT INTO meeting (id, workspace_id, series_id, occurrence_key, starts_at, timezone, "
                f"duration_minutes, status, created_at, updated_at) VALUES ({meeting_id}, '{ws}', {series_id}, "
                f"'k{meeting_id}', '2022-03-02', 'UTC', 60, 'scheduled', '2022-03-01', '2022-03-01')")
        for item_id, meeting_id in ((1, 2), (2, 1), (3, 3), (4, 2)):
            conn.execute(
                "INSERT INTO agendaitem (id, meeting_id, position, title, link, link_key, author, author_name, "
                f"added_at) VALUES ({item_id}, {meeting_id}, {item_id}, 'T', 'l{item_id}', 'l{item_id}', 'a', 'a', "
                "'2022-03-01')")
        for vote_id, ws in ((1, "other"), (2, "tvm"), (3, "other")):
            conn.execute(
                "INSERT INTO vote (id, workspace_id, title, rule, binding_role, opened_by, opened_at, closes_at, "
                "short_forced, status, close_forced, head_digest, electorate_digest, electorate_size) VALUES "
                f"({vote_id}, '{ws}', 'T', 'consensus', 'PMC', 'a', '2022-03-01', '2022-03-04', 0, 'open', 0, "
                "'h', 'e', 0)")
        conn.execute(
            "INSERT INTO rotationswap (id, series_id, meeting_id, duty, from_member, to_member, status, created_at) "
            "VALUES (7, 2, 2, 'host', 'a', 'b', 'proposed', '2022-03-01')")


def test_existing_records_are_numbered_per_workspace_in_order_of_id(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_database(path)
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, workspace_id, number FROM meeting ORDER BY id").fetchall() == [
            (1, "tvm", 1), (2, "other", 1), (3, "tvm", 2)]
        assert conn.execute("SELECT id, workspace_id, number FROM agendaitem ORDER BY id").fetchall() == [
            (1, "other", 1), (2, "tvm", 1), (3, "tvm", 2), (4, "other", 2)]
        assert conn.execute("SELECT id, number FROM vote ORDER BY id").fetchall() == [(1, 1), (2, 1), (3, 2)]
        assert conn.execute("SELECT id, workspace_id, number FROM rotationswap").fetchall() == [(7, "other", 1)]
        assert sorted(conn.execute("SELECT workspace_id, kind, last_number FROM workspace_counter").fetchall()) == [
            ("other", "agendaitem", 2), ("other", "meeting", 1), ("other", "rotationswap", 1), ("other", "vote", 2),
            ("tvm", "agendaitem", 2), ("tvm", "meeting", 2), ("tvm", "vote", 1)]
        # The slug is a name within one workspace now; within one it stays unique.
        conn.execute(
            "INSERT INTO series (workspace_id, slug, feed_name, name, weekday, local_time, timezone, start_date, "
            "duration_minutes, deadline_minutes, display_zones, link_hosts, created_by, created_at, updated_at) "
            "VALUES ('other', 'community', 'community-1', 'N', 2, '08:00', 'UTC', '2022-03-02', 60, 1440, '', '', "
            "'a', '2022-03-01', '2022-03-01')")
        # Existing series keep their slug as their calendar name: feed URLs and event UIDs do not change.
        assert conn.execute("SELECT slug, feed_name FROM series WHERE id <= 2 ORDER BY id").fetchall() == [
            ("community", "community"), ("dev", "dev")]
        assert conn.execute("SELECT COUNT(*) FROM meeting WHERE series_id = 1").fetchone() == (2,)
