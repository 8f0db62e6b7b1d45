"""The electorate is the real role holders (issue 17), through ``quorum console`` and ``quorum verify``
run in this process, on SQLite and PostgreSQL: a member seen once with ``--role PMC`` long ago does not
inflate a later vote's electorate, and ``/vote electorate`` says where each member came from."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

CONFIG = """
[roles.PMC]
members = ["console:alice", "console:bob", "console:carol", "console:dan", "console:erin"]

[permissions]
chair_roles = ["PMC"]
binding_role = "PMC"
"""


class Console:
    def __init__(self, tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "quorum.toml").write_text(CONFIG)  # the default config path, from the cwd
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("QUORUM_DATABASE_URL", url)
        monkeypatch.delenv("QUORUM_CONFIG", raising=False)
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def cli(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        code = main(list(args))
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def run(self, user: str, now: str, lines: list[str], *roles: str) -> list[dict[str, Any]]:
        role_args = [arg for role in roles for arg in ("--role", role)]
        code, out, err = self.cli("console", "--workspace", "tvm", "--user", user, *role_args, "--now", now,
                                  "--json", stdin="\n".join(lines) + "\n")
        assert code == 0, err
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_stale_role_evidence_does_not_inflate_an_electorate_majority(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    quorum = Console(tmp_path, database_url, monkeypatch, capsys)
    # frank once ran a console session with --role PMC, 40 days before the vote (the default expiry is 30).
    (seen,) = quorum.run("frank", "2022-01-20T12:00Z", ["/vote list"], "PMC")
    assert seen["ok"]
    (opened,) = quorum.run("alice", "2022-03-01T12:00Z", [
        '/vote open "Graduate the incubator project" rule=electorate-majority'], "PMC")
    assert opened["ok"], opened["text"]
    vote = opened["data"]["vote"]
    assert vote["electorate"] == [f"console:{n}" for n in ("alice", "bob", "carol", "dan", "erin")]
    number = vote["id"]
    for user in ("alice", "bob", "carol"):
        (cast,) = quorum.run(user, "2022-03-02T12:00Z", [f"/vote cast #{number} +1"], "PMC")
        assert cast["ok"] and cast["data"]["ballot"]["binding"], cast["text"]
    (late,) = quorum.run("frank", "2022-03-02T13:00Z", [f"/vote cast #{number} -1"], "PMC")
    assert late["data"]["ballot"]["binding"] is False  # frank holds PMC today, but was not in the snapshot
    (result,) = quorum.run("zoe", "2022-03-04T12:00Z", [f"/vote status #{number}"])
    closed = result["data"]["vote"]
    assert closed["status"] == "closed" and closed["outcome"] == "passed", result["text"]
    assert closed["electorate_size"] == 5 and closed["tally"]["binding"]["+1"] == 3
    assert "Binding (PMC, electorate of 5): 3 +1, 0 0, 0 -1" in result["text"]

    (listing,) = quorum.run("zoe", "2022-03-04T13:00Z", [f"/vote electorate #{number}"])
    assert listing["ok"] and "  bob (console:bob): config" in listing["text"]
    assert "frank" not in listing["text"]
    code, out, err = quorum.cli("verify", "--digest", f"{number}={closed['head_digest']}",
                                "--digest", f"{number}={closed['opened_digest']}")
    assert code == 0 and "and 2 held digests" in out, err


def test_recent_role_evidence_counts_and_says_when_it_was_seen(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    quorum = Console(tmp_path, database_url, monkeypatch, capsys)
    quorum.run("frank", "2022-01-20T12:00Z", ["/vote list"], "PMC")
    # Seen again with the role 10 days before the vote: the evidence is renewed, not kept at its first date.
    quorum.run("frank", "2022-02-19T09:30Z", ["/vote list"], "PMC")
    (opened,) = quorum.run("alice", "2022-03-01T12:00Z", ['/vote open "Adopt the RFC process"'], "PMC")
    vote = opened["data"]["vote"]
    assert "console:frank" in vote["electorate"] and vote["electorate_size"] == 6
    (listing,) = quorum.run("zoe", "2022-03-01T13:00Z", [f"/vote electorate #{vote['id']}"])
    assert "  frank (console:frank): seen with PMC on Sat 2022-02-19 09:30 UTC" in listing["text"], listing["text"]
    assert "  alice (console:alice): config" in listing["text"]
    member = next(m for m in listing["data"]["electorate"] if m["member"] == "console:frank")
    assert member == {"member": "console:frank", "name": "frank", "source": "seen", "seen_at": "2022-02-19T09:30:00Z"}
    _code, out, _err = quorum.cli("export", "--format", "json")
    exported = json.loads(out)["votes"][0]
    assert exported["electorate_sources"]["console:frank"] == {"source": "seen", "seen_at": "2022-02-19T09:30:00Z"}
    assert exported["electorate_sources"]["console:bob"] == {"source": "config", "seen_at": None}


def test_verify_exits_1_on_a_held_digest_it_does_not_have_and_2_on_a_malformed_one(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    quorum = Console(tmp_path, database_url, monkeypatch, capsys)
    quorum.run("alice", "2022-03-01T12:00Z", ['/vote open "Adopt the RFC process"'], "PMC")
    digests = tmp_path / "held.txt"
    digests.write_text("# kept from the vote message\n\n1=" + "ab" * 32 + "\n")
    code, _out, err = quorum.cli("verify", "--digests", str(digests))
    assert code == 1 and "FAILED: vote 1: the digest held for it (abababababababab…)" in err
    code, _out, err = quorum.cli("verify", "--digest", "1=abc")
    assert code == 2 and "is not 64 hex digits" in err
