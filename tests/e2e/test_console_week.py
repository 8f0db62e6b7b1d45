"""A meeting week rehearsed through the real `quorum console --tick --json` as subprocesses, each at its
own instant (`--now`): every process runs one scheduler tick for the workspace and prints what it sends,
so the whole week's messages can be compared with the exact list expected (each exactly once, across
processes), including the minutes `/notes publish` posts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SERIES = ('/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz=America/Los_Angeles zones=UTC,Europe/London,Asia/Kolkata start=2022-03-02 channel=general")


class Console:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.cwd = tmp_path
        self.env = {**os.environ, "QUORUM_DATABASE_URL": database_url, "PYTHONTZPATH": ""}
        self.env.pop("QUORUM_CONFIG", None)
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (the --now of the process, the message)

    def run(self, user: str, now: str, *lines: str, roles: tuple[str, ...] = (), tick: bool = True
            ) -> list[dict[str, Any]]:
        args = [sys.executable, "-m", "bot.cli", "console", "--workspace", "tvm", "--user", user, "--json",
                "--now", now, *(["--tick"] if tick else [])]
        for role in roles:
            args += ["--role", role]
        done = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=self.cwd,
                              env=self.env, timeout=120, check=True)
        answers = []
        for line in done.stdout.splitlines():
            if line.strip():
                parsed = json.loads(line)
                if "sent" in parsed:
                    self.sent.append((now, parsed["sent"]))
                else:
                    answers.append(parsed)
        for line, answer in zip(lines, answers, strict=True):
            assert answer["ok"], f"{line!r} failed: {answer['text']}"
        return answers

    def keys(self) -> list[tuple[str, str, str, str]]:
        return [(now, m["kind"], m["target"], m["key"]) for now, m in self.sent]


def test_a_week_rehearsed_in_the_console_sends_each_message_once(tmp_path: Path, sqlite_url: str) -> None:
    console = Console(tmp_path, sqlite_url)
    console.run("alice", "2022-03-01T10:00Z", SERIES, roles=("PMC",))
    for name in ("bob", "carol", "dan"):
        console.run(name, "2022-03-01T10:05Z", "/rotation join host")
    console.run("erin", "2022-03-01T10:06Z", "/me tz Asia/Kolkata", "/rotation join notes")
    console.run("frank", "2022-03-01T10:07Z", "/rotation join notes")
    console.run("bob", "2022-03-01T12:00Z", '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    console.run("dan", "2022-03-01T12:01Z", '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    assert console.sent == []

    console.run("zoe", "2022-03-01T14:00Z")  # the channel reminder, 2 h before the agenda closes
    console.run("zoe", "2022-03-01T16:00Z")  # the deadline: announcement with the fixed pair, 24 h DMs
    console.run("zoe", "2022-03-01T16:30Z")  # a later process sends nothing again
    shown = console.run("zoe", "2022-03-01T16:31Z", "/meeting next")[0]
    assert shown["data"]["meeting"]["provisional"] is False
    console.run("zoe", "2022-03-02T15:00Z")  # 1 h before: host, note-taker, authors
    answers = console.run(
        "erin", "2022-03-02T16:30Z",
        '/notes add "Everyone agrees on one meeting" item=#1',
        '/notes add "Write the RFC" item=#2 owner=@dan',
        "/notes publish",
        "/notes publish",
    )
    assert [a["data"].get("posted") for a in answers[2:]] == [True, False]
    minutes_key = answers[2]["data"]["key"]

    mtg = "mtg:1:2022-03-02:"
    assert console.keys() == [
        ("2022-03-01T14:00Z", "channel", "general", mtg + "agenda-closing"),
        ("2022-03-01T16:00Z", "channel", "general", mtg + "announce"),
        ("2022-03-01T16:00Z", "dm", "console:bob", mtg + "dm:console:bob:86400"),
        ("2022-03-01T16:00Z", "dm", "console:erin", mtg + "dm:console:erin:86400"),
        ("2022-03-02T15:00Z", "dm", "console:bob", mtg + "dm:console:bob:3600"),
        ("2022-03-02T15:00Z", "dm", "console:dan", mtg + "dm:console:dan:3600"),
        ("2022-03-02T15:00Z", "dm", "console:erin", mtg + "dm:console:erin:3600"),
        ("2022-03-02T16:30Z", "channel", "general", minutes_key),
    ]
    by_key = {m["key"]: m for _, m in console.sent}
    announce = by_key[mtg + "announce"]
    assert announce["title"] == "TVM Community Meeting: the agenda is closed"
    for part in ("Wed 2022-03-02 08:00 PST (America/Los_Angeles)", "16:00 UTC", "16:00 GMT (Europe/London)",
                 "21:30 IST (Asia/Kolkata)", "Host: bob · Note-taker: erin", "1. Unify meetings", "2. Relay VM"):
        assert part in announce["text"], part
    assert "21:30 IST (Asia/Kolkata) your time" in by_key[mtg + "dm:console:erin:86400"]["text"]
    minutes = by_key[minutes_key]["text"]
    assert "## 1. Unify meetings" in minutes and "- [ ] Write the RFC (item 2)" in minutes


def test_an_empty_agenda_in_the_console_cancels_without_a_turn(tmp_path: Path, sqlite_url: str) -> None:
    console = Console(tmp_path, sqlite_url)
    console.run("alice", "2022-03-01T10:00Z", SERIES, roles=("PMC",))
    for name in ("bob", "carol"):
        console.run(name, "2022-03-01T10:05Z", "/rotation join host")
    shown = console.run("zoe", "2022-03-01T16:00Z", "/rotation show")[0]["data"]["rotation"]
    assert [(m["key"], m["cancelled"], m["host"]) for m in shown["upcoming"][:2]] == [
        ("2022-03-02", True, None), ("2022-03-09", False, "console:bob")]
    assert console.keys() == [("2022-03-01T16:00Z", "channel", "general", "mtg:1:2022-03-02:announce")]
    assert console.sent[0][1]["title"] == "No meeting this week: TVM Community Meeting"


def test_tick_is_refused_for_a_platform_workspace(tmp_path: Path, sqlite_url: str) -> None:
    env = {**os.environ, "QUORUM_DATABASE_URL": sqlite_url, "PYTHONTZPATH": ""}
    env.pop("QUORUM_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--workspace", "slack:T0001", "--user",
                           "alice", "--tick"], input="", capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert done.returncode == 2
    assert "--tick runs only for console workspaces" in done.stderr
