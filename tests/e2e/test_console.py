"""The console end to end, as a person (or a script) uses it: the real command in a subprocess."""

from __future__ import annotations

import json

from tests.e2e.conftest import QuorumRunner

FUTURE_SERIES = ('/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
                 "tz=America/Los_Angeles zones=UTC,Europe/London,Europe/Berlin,Asia/Kolkata,Asia/Shanghai "
                 "start=2031-01-01")


def answers(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_create_series_add_items_list_and_export(quorum: QuorumRunner) -> None:
    chair = quorum("console", "--workspace", "tvm", "--user", "alice", "--json",
                   stdin=FUTURE_SERIES + "\n")
    assert answers(chair.stdout)[0]["ok"] is True
    script = "\n".join([
        '/agenda add "Unify the community meetings" https://discuss.tvm.apache.org/t/12171',
        '# a comment line is ignored',
        '/agenda add "Roadmap pre-RFC" https://discuss.tvm.apache.org/t/roadmap',
        "/agenda list",
        "/meeting cancel",
        '/agenda add "No link"',
    ])
    member = quorum("console", "--workspace", "tvm", "--user", "bob", "--json", stdin=script + "\n")
    replies = answers(member.stdout)
    assert [r["ok"] for r in replies] == [True, True, True, False, False]
    listed = replies[2]["data"]["meeting"]  # type: ignore[index]
    assert [i["title"] for i in listed["agenda"]] == ["Unify the community meetings", "Roadmap pre-RFC"]
    assert listed["starts_at"] == "2031-01-01T16:00:00Z"
    assert "for chairs" in str(replies[3]["text"]) and replies[3]["ephemeral"] is True
    assert "needs <link>" in str(replies[4]["text"])

    exported = json.loads(quorum("export", "--format", "json").stdout)
    assert exported["series"] == [{
        "slug": "community", "name": "TVM Community Meeting", "timezone": "America/Los_Angeles", "weekday": "wed",
        "time": "08:00", "workspace": "tvm", "duration_minutes": 60, "agenda_deadline_minutes": 1440,
        "display_zones": ["UTC", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Shanghai"],
        "start_date": "2031-01-01",
    }]
    (meeting,) = exported["meetings"]
    assert meeting["series"] == "community" and meeting["starts_at"] == "2031-01-01T16:00:00Z"
    assert [(i["position"], i["title"], i["author"], i["author_name"]) for i in meeting["agenda"]] == [
        (1, "Unify the community meetings", "console:bob", "bob"), (2, "Roadmap pre-RFC", "console:bob", "bob")]
    assert set(meeting["agenda"][0]) == {"id", "number", "position", "title", "link", "author", "author_name",
                                         "added_at"}

    markdown = quorum("export", "--format", "markdown").stdout
    assert "# TVM Community Meeting (`community`)" in markdown
    assert "1. [Unify the community meetings](https://discuss.tvm.apache.org/t/12171) (#1, bob)" in markdown


def test_plain_text_output_and_roles_from_the_command_line(quorum: QuorumRunner) -> None:
    out = quorum("console", "--workspace", "tvm", "--user", "dana", "--role", "PMC",
                 stdin=FUTURE_SERIES + "\n/meeting next\n/quorum help\n/nope\n").stdout
    assert "Created series community" in out
    assert "Next: TVM Community Meeting (community)" in out
    assert "Wed 2031-01-01 08:00 PST (America/Los_Angeles) · 16:00 UTC" in out
    assert "/agenda add \"<title>\" <link> [series] [date]" in out
    assert "Error: /nope is not a command." in out


def test_check_config(quorum: QuorumRunner, tmp_path: object) -> None:
    from pathlib import Path

    good = quorum("check-config")
    assert good.stdout.startswith("ok")
    bad = Path(str(tmp_path)) / "bad.toml"
    bad.write_text('[web]\nport = 99999\n\n[permissions]\nchair_roles = ["Chairs"]\n\n[roles.PMC]\n',
                   encoding="utf-8")
    result = quorum("--config", str(bad), "check-config", check=False)
    assert result.returncode == 1
    assert "line 2: web.port: must be between 1 and 65535" in result.stdout
    assert "line 5: permissions.chair_roles: role 'Chairs' is not declared" in result.stdout
    refused = quorum("--config", str(bad), "console", "--workspace", "w", "--user", "u", check=False)
    assert refused.returncode == 2 and "quorum check-config" in refused.stderr
