"""Votes end to end through ``quorum console`` and ``quorum verify`` as subprocesses, on a SQLite file."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console_notifier import ConsoleNotifier
from bot.app import build_app
from bot.cli import main
from bot.clock import ManualClock
from bot.config import RoleConfig, Settings
from tests.helpers import Members, ok


def quorum(tmp_path: Path, url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QUORUM_DATABASE_URL": url, "PYTHONTZPATH": ""}
    env.pop("QUORUM_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60, check=False)


def console(tmp_path: Path, url: str, user: str, lines: list[str], *roles: str) -> list[dict[str, Any]]:
    role_args = [arg for role in roles for arg in ("--role", role)]
    done = quorum(tmp_path, url, "console", "--workspace", "tvm", "--user", user, *role_args, "--json",
                  stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


CONFIG = """
[roles.PMC]
members = ["console:bob", "console:carol"]

[permissions]
chair_roles = ["PMC"]
binding_role = "PMC"
"""


def in_process(tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *args: str) -> tuple[int, str, str]:
    """The CLI in this process (each subprocess costs seconds of imports); the console runs as one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUORUM_DATABASE_URL", url)
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_vote_from_open_to_verified_export(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "quorum.toml").write_text(CONFIG)  # the default config path, read from the cwd
    opened, first = console(tmp_path, sqlite_url, "alice", [
        '/vote open "Adopt the lazy 2/3 rule" link=https://discuss.tvm.apache.org/t/11 rule=lazy-two-thirds',
        "/vote cast #1 +1",
    ], "PMC")
    assert opened["ok"] and not opened["ephemeral"], opened["text"]
    vote = opened["data"]["vote"]
    assert vote["electorate"] == ["console:alice", "console:bob", "console:carol"]
    assert "Electorate: 3 holders of PMC" in opened["text"]
    vid = vote["id"]
    answers = [first]
    answers += console(tmp_path, sqlite_url, "bob", [f"/vote cast #{vid} -1", f'/vote cast #{vid} +1 "ok then"'])
    answers += console(tmp_path, sqlite_url, "dan", [f'/vote cast #{vid} -1 "(binding)"', f"/vote cast #{vid} +7"])
    assert [a["ok"] for a in answers] == [True, True, True, True, False]
    assert answers[3]["data"]["ballot"]["binding"] is False
    assert answers[4]["text"] == "'+7' is not a valid value: use +1, +0, 0, -0 or -1."
    early = console(tmp_path, sqlite_url, "alice", [f"/vote close #{vid}"], "PMC")[0]
    assert not early["ok"] and "have not voted (carol)" in early["text"]
    console(tmp_path, sqlite_url, "carol", [f"/vote cast #{vid} +1"])
    (result,) = console(tmp_path, sqlite_url, "alice", [f"/vote close #{vid}"], "PMC")
    assert result["ok"], result["text"]
    assert result["text"].startswith("[RESULT][VOTE] Adopt the lazy 2/3 rule")
    assert result["data"]["vote"]["outcome"] == "passed"
    assert "Binding (PMC, electorate of 3): 3 +1, 0 0, 0 -1" in result["text"]
    assert "Non-binding: 0 +1, 0 0, 1 -1" in result["text"]
    head = result["data"]["vote"]["head_digest"]
    assert head in result["text"]

    verified = quorum(tmp_path, sqlite_url, "verify")
    assert verified.returncode == 0 and "ok: 1 votes and 7 events" in verified.stdout, verified.stderr

    def cli(*args: str) -> tuple[int, str, str]:
        return in_process(tmp_path, sqlite_url, monkeypatch, capsys, *args)

    code, exported, _ = cli("export", "--format", "json")
    assert code == 0
    data = json.loads(exported)
    assert data["votes"][0]["head_digest"] == head
    export_file = tmp_path / "export.json"
    export_file.write_text(exported)
    assert cli("verify", "--file", str(export_file))[0] == 0

    # An edited export: dan's non-binding -1 turned into a binding +1.
    dan = next(b for b in data["votes"][0]["ballots"] if b["voter"] == "console:dan")
    dan["value"], dan["binding"] = "+1", True
    export_file.write_text(json.dumps(data))
    code, _, err = cli("verify", "--file", str(export_file))
    assert code == 1 and "the ballot of console:dan says +1 (binding) but the log says -1" in err

    # The same forgery in the export's log is caught by the hash chain.
    data["votes"][0]["events"][4]["payload"]["value"] = "+1"
    export_file.write_text(json.dumps(data))
    code, _, err = cli("verify", "--file", str(export_file))
    assert code == 1 and "event 5 (ballot by console:dan) does not match its hash" in err

    # An edited ballot row in the database.
    path = sqlite_url.removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ballot SET value = '-1' WHERE voter = 'console:carol'")
    code, _, err = cli("verify")
    assert code == 1 and "FAILED: vote #1: the ballot of console:carol says -1 (binding) but the log says +1" in err
    # An edited event row in the database: restoring the ballot does not hide a changed log.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ballot SET value = '+1' WHERE voter = 'console:carol'")
        conn.execute("UPDATE vote_event SET created_at = '2022-01-01 00:00:00.000000' WHERE seq = 3")
    code, _, err = cli("verify")
    assert code == 1 and "vote #1 event 3 (ballot by console:bob) does not match" in err


def test_verify_rejects_a_file_that_is_not_an_export(tmp_path: Path, sqlite_url: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = in_process(tmp_path, sqlite_url, monkeypatch, capsys, "verify", "--file", str(bad))
    assert code == 2 and "not a Quorum JSON export" in err


async def test_the_ticker_closes_due_votes_and_posts_the_result(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, roles={"PMC": RoleConfig("PMC", members=("console:carol",))})
    clock = ManualClock(datetime(2022, 3, 1, 12, 0, tzinfo=UTC))
    app = build_app(settings, clock)
    printed = io.StringIO()
    app.services.notifiers["console"] = ConsoleNotifier(printed)
    try:
        # One reminders job (it plans meetings and votes), registered once, however many ticks run.
        await app.ticker.tick()
        await app.ticker.tick()
        assert [name for name, _ in app.ticker.jobs].count("reminders") == 1
        reply = await ok(app.dispatcher, Members(settings).chair("alice"), '/vote open "Ticked"')
        vote_id = reply.data["vote"]["id"]
        clock.advance(timedelta(hours=48))
        await app.ticker.tick()
        # alice and carol (a config member) have not voted: a DM each, 24 h before the close.
        assert printed.getvalue().count("DM to console:") == 2
        assert '[tvm] DM to console:carol:\n[VOTE] Reminder: Ticked\nReminder: vote #1 "Ticked" closes ' \
               "Fri 2022-03-04 12:00 UTC your time, and you have not voted." in printed.getvalue()
        clock.advance(timedelta(hours=24, seconds=1))
        await app.ticker.tick()
        view = await app.services.votes.status("tvm", vote_id)
        assert view.status == "closed" and view.closed_at == datetime(2022, 3, 4, 12, 0, tzinfo=UTC)
        out = printed.getvalue()
        assert out.count("DM to console:") == 2 and out.count("[RESULT][VOTE] Ticked") == 1
        assert "Closed Fri 2022-03-04 12:00 UTC (UTC), at its deadline." in out
        await app.ticker.tick()
        assert printed.getvalue().count("[RESULT][VOTE] Ticked") == 1
    finally:
        await app.close()


async def test_console_votes_get_their_reminder_and_result_from_the_running_bot(
        tmp_path: Path, sqlite_url: str) -> None:
    """`quorum console --now` opens and votes; the running bot (its reminders tick, as `quorum run` does)
    reminds who has not voted and posts the result; a console command after the deadline closes it."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "quorum.toml").write_text(CONFIG)

    def at(now: str, user: str, lines: list[str], *roles: str) -> list[dict[str, Any]]:
        role_args = [arg for role in roles for arg in ("--role", role)]
        done = quorum(tmp_path, sqlite_url, "console", "--workspace", "tvm", "--user", user, "--now", now,
                      *role_args, "--json", stdin="\n".join(lines) + "\n")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    opened = at("2022-03-01T12:00Z", "alice", ['/vote open "Adopt the lazy 2/3 rule"', "/vote cast #1 +1"], "PMC")
    assert [a["ok"] for a in opened] == [True, True]
    settings = Settings(database_url=sqlite_url, roles={"PMC": RoleConfig("PMC", members=("console:bob",
                                                                                      "console:carol"))},
                        chair_roles=("PMC",), binding_role="PMC")
    clock = ManualClock(datetime(2022, 3, 3, 12, 0, tzinfo=UTC))
    printed = io.StringIO()
    app = build_app(settings, clock)
    app.services.notifiers["console"] = ConsoleNotifier(printed)
    try:
        await app.reminders_tick()
        await app.reminders_tick()
    finally:
        await app.close()
    reminders = printed.getvalue()
    assert reminders.count("DM to console:") == 2  # bob and carol; alice voted
    assert "[tvm] DM to console:bob:" in reminders and "[tvm] DM to console:carol:" in reminders
    assert "/vote cast #1 +1|0|-1" in reminders
    at("2022-03-03T13:00Z", "bob", ["/vote cast #1 +1"])
    # Past the deadline, before the bot ticks: a console command closes it as of the deadline.
    status = at("2022-03-04T12:30Z", "carol", ["/vote status #1"])[0]
    assert status["data"]["vote"]["closed_at"] == "2022-03-04T12:00:00Z"
    queued = quorum(tmp_path, sqlite_url, "outbox")
    assert "pending 1" in queued.stdout, queued.stdout
    clock.set(datetime(2022, 3, 4, 12, 31, tzinfo=UTC))
    app = build_app(settings, clock)
    printed = io.StringIO()
    app.services.notifiers["console"] = ConsoleNotifier(printed)
    try:
        await app.reminders_tick()
        await app.reminders_tick()
    finally:
        await app.close()
    out = printed.getvalue()
    assert out.count("[RESULT][VOTE] Adopt the lazy 2/3 rule") == 1
    assert out.startswith("[tvm] post in (the series channel):\n[RESULT][VOTE] Adopt the lazy 2/3 rule\n")
    assert "Closed Fri 2022-03-04 12:00 UTC (UTC), at its deadline." in out
    assert "Did not vote (1 of the electorate): carol." in out
