"""The README's console example, run as a person types it, at several weekdays and hours (``--now``), in
one database: every workspace gets its own `community`, the first meeting can still be prepared, and
``--channel`` picks a series when a workspace has several (issue 16, items 1, 3 and 4)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.e2e.conftest import QuorumRunner

README = "\n".join([
    '/meeting series create slug=community name="Community meeting" weekday=wed time=08:00 '
    "tz=America/Los_Angeles zones=UTC,Europe/London,Europe/Berlin,Asia/Kolkata,Asia/Shanghai",
    '/agenda add "Unify the community meetings" https://discuss.tvm.apache.org/t/12171',
    "/meeting next",
])


def answers(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def instant(text: object) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def test_the_readme_example_whatever_the_weekday_and_hour(quorum: QuorumRunner) -> None:
    # Tuesday after the agenda closed (15:00 in Los Angeles), Wednesday during the meeting, a Saturday
    # night, a Monday morning, and the Tuesday just before the deadline.
    for now in ("2026-03-17T22:00Z", "2026-03-18T15:30Z", "2026-03-21T03:00Z", "2026-03-23T12:00Z",
                "2026-03-24T14:59Z"):
        done = quorum("console", "--workspace", f"ws-{now[:10]}", "--user", "alice", "--json", "--now", now,
                      stdin=README + "\n")
        created, added, shown = answers(done.stdout)
        assert created["ok"] and added["ok"] and shown["ok"], (now, created["text"], added["text"])
        assert "Its agenda closes" in str(created["text"])
        meeting = added["data"]["meeting"]  # type: ignore[index]
        clock = instant(now)
        assert instant(meeting["deadline"]) > clock and instant(meeting["starts_at"]) - clock < timedelta(days=8)
        assert shown["data"]["meeting"]["starts_at"] == meeting["starts_at"]  # type: ignore[index]


def test_the_channel_picks_the_series(quorum: QuorumRunner) -> None:
    setup = "\n".join([
        '/meeting series create slug=community name="Community" weekday=wed time=08:00 tz=America/Los_Angeles '
        "channel=general",
        '/meeting series create slug=dev name="Dev sync" weekday=thu time=17:00 tz=Europe/Berlin channel=dev',
    ])
    assert all(a["ok"] for a in answers(quorum("console", "--workspace", "tvm", "--user", "alice", "--json",
                                               "--now", "2026-03-02T12:00Z", stdin=setup + "\n").stdout))
    item = '/agenda add "Flaky CI" https://github.com/apache/tvm/issues/9\n'
    asked, = answers(quorum("console", "--workspace", "tvm", "--user", "bob", "--json", "--now",
                            "2026-03-02T12:00Z", stdin=item, check=False).stdout)
    assert not asked["ok"] and "several (community, dev)" in str(asked["text"])
    added, = answers(quorum("console", "--workspace", "tvm", "--user", "bob", "--channel", "dev", "--json",
                            "--now", "2026-03-02T12:00Z", stdin=item).stdout)
    assert added["ok"] and added["data"]["meeting"]["series"] == "dev"  # type: ignore[index]
