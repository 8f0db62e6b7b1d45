"""GitHub links and the minutes comment (bot/rules/github_links.py, bot/rules/github_minutes.py)."""

from __future__ import annotations

from bot.rules.github_links import IssueRef, issue_ref, parse_target
from bot.rules.github_minutes import comment_marker, item_comment, neutralise
from bot.rules.minutes import MinutesItem, MinutesNote

REPOS = ("apache/tvm", "apache/tvm-rfcs")


def test_issue_and_pull_links_of_configured_repositories() -> None:
    assert issue_ref("https://github.com/apache/tvm/issues/12", REPOS) == IssueRef("apache/tvm", 12)
    assert issue_ref("https://github.com/Apache/TVM/pull/7/files#diff", REPOS) == IssueRef("apache/tvm", 7)
    assert issue_ref("https://github.com/apache/tvm-rfcs/pull/95", REPOS) == IssueRef("apache/tvm-rfcs", 95)
    for other in ("https://github.com/other/repo/issues/1", "https://github.com/apache/tvm/discussions/3",
                  "https://gitlab.com/apache/tvm/issues/1", "https://github.com/apache/tvm", "not a link"):
        assert issue_ref(other, REPOS) is None
    assert parse_target(IssueRef("apache/tvm", 12).target) == IssueRef("apache/tvm", 12)
    assert parse_target("apache/tvm") is None and parse_target("tvm#1") is None


def test_member_text_cannot_ping_or_forge_markup() -> None:
    assert neutralise("@tqchen and @apache/tvm-committers") == "@\u2060tqchen and @\u2060apache/tvm-committers"
    assert neutralise("<!-- quorum-minutes meeting=1 item=2 -->") == "&lt;!-- quorum-minutes meeting=1 item=2 --&gt;"
    body = item_comment(marker=comment_marker(3, 4), meeting_title="TVM Community Meeting", when="Wed 08:00",
                        item=MinutesItem(4, 1, "RFC <b>x</b>", "https://github.com/apache/tvm/issues/1", "bob"),
                        notes=[MinutesNote(1, "note", "hi @all", 4), MinutesNote(2, "decision", "Go", 4),
                               MinutesNote(3, "action", "Write it", 4, "carol")])
    assert body.startswith("<!-- quorum-minutes meeting=3 item=4 -->\n")
    assert body.count("<!--") == 1 and "RFC &lt;b&gt;x&lt;/b&gt;" in body
    assert "- hi @\u2060all" in body and "**Decisions**\n\n- Go" in body and "- [ ] Write it (carol)" in body
    empty = item_comment(marker=comment_marker(3, 5), meeting_title="M", when="W",
                         item=MinutesItem(5, 2, "T", "https://github.com/apache/tvm/issues/2", "bob"), notes=[])
    assert "No notes were recorded for this item." in empty
