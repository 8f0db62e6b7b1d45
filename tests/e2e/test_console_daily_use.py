"""Issue 16 items 5-8 through the real `quorum console --tick --json`: zones refused with the zone meant,
the member's own time, a chair's late removal editing the announcement, and late cancel and restore posted
to the channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SERIES = ('/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz={tz} start=2022-03-02 channel=general")


def console(tmp_path: Path, url: str, user: str, now: str, *lines: str, chair: bool = False
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(answers, messages sent by the tick and after each command) of one `quorum console` process."""
    args = [sys.executable, "-m", "bot.cli", "console", "--workspace", "tvm", "--user", user, "--json",
            "--now", now, "--tick", *(["--role", "PMC"] if chair else [])]
    env = {**os.environ, "QUORUM_DATABASE_URL": url, "PYTHONTZPATH": ""}
    env.pop("QUORUM_CONFIG", None)
    done = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=120, check=False)
    parsed = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return [p for p in parsed if "sent" not in p], [p["sent"] for p in parsed if "sent" in p]


def test_zones_own_times_moderation_and_late_status_changes(tmp_path: Path, sqlite_url: str) -> None:
    answers, _ = console(tmp_path, sqlite_url, "alice", "2022-03-01T10:00Z", SERIES.format(tz="PST"), chair=True)
    assert not answers[0]["ok"] and "America/Los_Angeles" in answers[0]["text"]
    answers, _ = console(tmp_path, sqlite_url, "alice", "2022-03-01T10:00Z",
                         SERIES.format(tz="America/Los_Angeles"), chair=True)
    assert answers[0]["ok"], answers[0]["text"]

    answers, _ = console(tmp_path, sqlite_url, "erin", "2022-03-01T10:05Z", "/me tz EST", "/me tz Asia/Kolkata",
                         '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/1')
    assert not answers[0]["ok"] and "America/New_York" in answers[0]["text"]
    assert "Your time: starts Wed 2022-03-02 21:30 IST (Asia/Kolkata)" in answers[2]["text"]
    console(tmp_path, sqlite_url, "mallory", "2022-03-01T10:06Z",
            '/agenda add "@everyone free \u202eexe" https://discuss.tvm.apache.org/t/spam')

    _, sent = console(tmp_path, sqlite_url, "zoe", "2022-03-01T16:00Z")  # the deadline
    assert [m["title"] for m in sent if m["kind"] == "channel"] == ["TVM Community Meeting: the agenda is closed"]
    assert "\u202e" not in next(m for m in sent if m["kind"] == "channel")["text"]

    answers, sent = console(tmp_path, sqlite_url, "alice", "2022-03-01T17:00Z", "/agenda remove #2", chair=True)
    assert answers[0]["ok"], answers[0]["text"]
    assert [m["kind"] for m in sent] == ["update"]
    assert "removed by a chair, alice, after the agenda closed" in sent[0]["text"]

    answers, sent = console(tmp_path, sqlite_url, "alice", "2022-03-01T18:00Z",
                            '/meeting cancel 2022-03-02 reason="the host is ill"', chair=True)
    assert [m["title"] for m in sent if m["kind"] == "channel"] == ["Cancelled by a chair: TVM Community Meeting"]

    answers, sent = console(tmp_path, sqlite_url, "alice", "2022-03-01T19:00Z", "/meeting restore 2022-03-02",
                            chair=True)
    assert [m["title"] for m in sent if m["kind"] == "channel"] == [
        "TVM Community Meeting: restored, the agenda is closed"]
