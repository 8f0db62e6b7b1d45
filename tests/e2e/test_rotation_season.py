"""A season of meetings through the real `quorum console` and `quorum export`, as subprocesses, with
the clock set per invocation (`--now`): rosters, agendas, a cancellation, a skip, notes and minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ZONES = "UTC,Europe/London,Asia/Shanghai"
SERIES = (f'/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          f"tz=America/Los_Angeles zones={ZONES} start=2022-03-02")


class Console:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.cwd = tmp_path
        self.env = {**os.environ, "QUORUM_DATABASE_URL": database_url, "PYTHONTZPATH": ""}
        self.env.pop("QUORUM_CONFIG", None)

    def run(self, user: str, now: str, *lines: str, roles: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        args = [sys.executable, "-m", "bot.cli", "console", "--workspace", "tvm", "--user", user, "--json",
                "--now", now]
        for role in roles:
            args += ["--role", role]
        done = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=self.cwd,
                              env=self.env, timeout=120, check=True)
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def ok(self, user: str, now: str, *lines: str, roles: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        answers = self.run(user, now, *lines, roles=roles)
        for line, answer in zip(lines, answers, strict=True):
            assert answer["ok"], f"{line!r} failed: {answer['text']}"
        return answers

    def export(self, fmt: str) -> str:
        done = subprocess.run([sys.executable, "-m", "bot.cli", "export", "--format", fmt], capture_output=True,
                              text=True, cwd=self.cwd, env=self.env, timeout=120, check=True)
        return done.stdout


def test_a_season_with_fair_explainable_assignments_notes_and_minutes(tmp_path: Path, sqlite_url: str) -> None:
    console = Console(tmp_path, sqlite_url)
    console.ok("alice", "2022-03-01T10:00Z", SERIES, roles=("PMC",))
    for name in ("bob", "carol", "dan"):
        console.ok(name, "2022-03-01T10:05Z", "/rotation join host")
    for name in ("erin", "frank"):
        console.ok(name, "2022-03-01T10:10Z", "/rotation join notes")

    # Each week: (meeting date, the Tuesday before, the start hour in UTC, the agenda item's author,
    # the expected host and note-taker). 08:00 Los Angeles is 16:00 UTC before the US clocks change on
    # 13 March and 15:00 UTC after.
    weeks = [
        ("2022-03-02", "2022-03-01", "16", "alice", ("bob", "erin")),
        # erin wrote an item, so frank (not involved) takes notes
        ("2022-03-09", "2022-03-08", "16", "erin", ("carol", "frank")),
        # cancelled: consumes no turn
        ("2022-03-16", "2022-03-15", "15", "alice", None),
        # carol skips; dan has the fewest turns
        ("2022-03-23", "2022-03-22", "15", "carol", ("dan", "erin")),
    ]
    for number, (day, tuesday, hour, author, expected) in enumerate(weeks, start=1):
        lines = [f'/agenda add "Topic of week {number}" https://discuss.tvm.apache.org/t/{1000 + number}']
        if number == 4:
            lines.append(f"/rotation skip {day}")
        lines.append("/meeting next")
        answers = console.ok(author, f"{tuesday}T12:00Z", *lines, roles=("PMC",) if author == "alice" else ())
        item_id = answers[0]["data"]["item"]["id"]
        before = answers[-1]["data"]["meeting"]
        if number == 3:
            console.ok("alice", f"{tuesday}T12:00Z", f"/meeting cancel {day}", roles=("PMC",))
            continue
        assert before["provisional"] is True and "(provisional)" in answers[-1]["text"]
        assert expected is not None
        host, scribe = expected
        assert (before["host"], before["note_taker"]) == (f"console:{host}", f"console:{scribe}")
        if number == 4:
            assert "carol skipped" in answers[1]["data"]["rotation"]["upcoming"][0]["host_reason"]
        if number == 1:
            refused = console.run("frank", f"{day}T{hour}:30Z", '/notes add "I want to write too"')[0]
            assert not refused["ok"]
            assert refused["text"] == ("Only the note-taker, the host or a chair may add notes for this meeting "
                                       "(erin (note-taker), bob (host)): ask one of them.")
        # During the meeting the assignment is fixed (the console catches up what the ticker would do).
        answers = console.ok(
            scribe, f"{day}T{hour}:30Z", f"/agenda list date={day}",
            f'/notes add "Discussed topic {number}" item=#{item_id}',
            f'/notes add "Go ahead with topic {number}" item=#{item_id} kind=decision',
            f'/notes add "Follow up on topic {number}" item=#{item_id} owner=@{host}',
            "/notes publish",
        )
        meeting = answers[0]["data"]["meeting"]
        assert meeting["provisional"] is False and "(provisional)" not in answers[0]["text"]
        assert (meeting["host"], meeting["note_taker"]) == (f"console:{host}", f"console:{scribe}")
        minutes = answers[-1]
        assert minutes["ephemeral"] is True and minutes["data"]["posted"] is True
        assert f"## 1. Topic of week {number}" in minutes["data"]["markdown"]
        assert f"### {host}\n\n- [ ] Follow up on topic {number} (item 1)" in minutes["data"]["markdown"]

    exported = json.loads(console.export("json"))
    by_day = {m["starts_at"][:10]: m for m in exported["meetings"]}
    assert by_day["2022-03-16"]["status"] == "cancelled" and by_day["2022-03-16"]["host"] is None
    assert [(by_day[d]["host"], by_day[d]["note_taker"]) for d in ("2022-03-02", "2022-03-09", "2022-03-23")] == [
        ("console:bob", "console:erin"), ("console:carol", "console:frank"), ("console:dan", "console:erin")]
    assert [n["kind"] for n in by_day["2022-03-02"]["notes"]] == ["note", "decision", "action"]
    assert by_day["2022-03-02"]["notes"][2]["owner"] == "console:bob"
    markdown = console.export("markdown")
    assert markdown.count("### Minutes: TVM Community Meeting") == 3
    assert "- [ ] Follow up on topic 4 (item 1)" in markdown
