"""A week with GitHub (issue 15, docs/github.md), on SQLite and PostgreSQL, against a local fake GitHub:
items from a label and from chat (one item per link), the 24-hour rule applied to the moment the label
was added, a label removed before the deadline, unchanged polls answered 304, and the minutes commented
back once per item, edited on republish, exactly once through a flaky GitHub."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.config import Settings
from bot.services.outbox import outbox_report
from storage.queries import outbox as outbox_q
from tests.adapters.github.conftest import LABEL, REPO, at, drain_github
from tests.adapters.github.fake_github import TOKEN, Failure, FakeGitHub
from tests.helpers import SEED_SERIES, Members, ok, run

FIRST = at("2022-03-02T16:00:00+00:00")  # Wed 08:00 America/Los_Angeles; its agenda closes 24 h before
SECOND = FIRST + timedelta(days=7)


async def agenda_links(app: App, day: str) -> dict[str, tuple[str, str]]:
    view = await app.services.agenda.list("tvm", None, at(day + "T00:00:00+00:00").date())
    return {item.link: (item.title, item.author) for item in view.agenda}


async def test_a_week_with_github(app: App, fake_github: FakeGitHub, clock: ManualClock, members: Members,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    chat = app.dispatcher
    await ok(chat, members.chair(), SEED_SERIES)
    linked = await ok(chat, members.member("bob"), "/me github Bob-GH")
    assert linked.data["github"] == "Bob-GH"
    taken = await run(chat, members.member("dan"), "/me github bob-gh")
    assert not taken.ok and "already linked to bob" in taken.text

    fake_github.issue(REPO, 101, "[RFC] Unify the community meetings")
    fake_github.issue(REPO, 102, "Add ARM CI runners", pr=True)
    fake_github.issue(REPO, 103, "Late topic")
    fake_github.label(REPO, 101, LABEL, by="bob-gh", at=at("2022-03-01T11:00:00+00:00"))
    fake_github.label(REPO, 102, LABEL, by="someone-else", at=at("2022-03-01T11:30:00+00:00"))

    # From chat, with a title of the member's own: the item shows the PR's real title.
    added = await ok(chat, members.member("carol"), '/agenda add "CI" https://github.com/apache/tvm/pull/102')
    assert added.data["item"]["title"] == "Add ARM CI runners" and "note" not in added.data
    # GitHub answering 500 never blocks the member: added with their title and a note.
    fake_github.issue(REPO, 104, "Docs overhaul")
    fake_github.fail("GET", "/issues/104", Failure(500))
    down = await ok(chat, members.member("erin"), '/agenda add "Docs" https://github.com/apache/tvm/issues/104')
    assert down.data["item"]["title"] == "Docs"
    assert "could not be fetched from GitHub (GitHub 500" in down.text
    # A repository that is not configured is not asked.
    before = len(fake_github.requests)
    await ok(chat, members.member("erin"), '/agenda add "Elsewhere" https://github.com/other/repo/issues/1')
    assert len(fake_github.requests) == before

    await app.services.github.poll_tick()
    links = await agenda_links(app, "2022-03-02")
    assert links["https://github.com/apache/tvm/issues/101"] == ("[RFC] Unify the community meetings", "console:bob")
    # The labelled PR was already there from chat: one item, still carol's.
    assert links["https://github.com/apache/tvm/pull/102"] == ("Add ARM CI runners", "console:carol")
    assert len([link for link in links if "/102" in link]) == 1

    # Nothing changed: the next poll is all 304s, which cost no rate limit.
    charged = fake_github.charged()
    clock.advance(timedelta(minutes=5))
    await app.services.github.poll_tick()
    polled = [r for r in fake_github.requests[-3:]]
    assert all(r.status == 304 and r.if_none_match for r in polled)
    assert fake_github.charged() == charged

    # The label removed before the deadline removes the item...
    clock.set(at("2022-03-01T13:00:00+00:00"))
    fake_github.unlabel(REPO, 101, LABEL, by="bob-gh")
    await app.services.github.poll_tick()
    assert "https://github.com/apache/tvm/issues/101" not in await agenda_links(app, "2022-03-02")
    # ...and added again (still before the deadline) brings it back.
    clock.set(at("2022-03-01T15:00:00+00:00"))
    fake_github.label(REPO, 101, LABEL, by="bob-gh")
    await app.services.github.poll_tick()
    assert "https://github.com/apache/tvm/issues/101" in await agenda_links(app, "2022-03-02")

    # A label added after the deadline (16:00 UTC) goes to the next meeting.
    clock.set(at("2022-03-01T17:00:00+00:00"))
    fake_github.label(REPO, 103, LABEL, by="bob-gh")
    await app.services.github.poll_tick()
    assert "https://github.com/apache/tvm/issues/103" not in await agenda_links(app, "2022-03-02")
    assert (await agenda_links(app, "2022-03-09"))["https://github.com/apache/tvm/issues/103"][1] == "console:bob"
    # A label removed after the deadline leaves the item on the record.
    fake_github.unlabel(REPO, 101, LABEL, by="bob-gh")
    clock.advance(timedelta(minutes=5))
    await app.services.github.poll_tick()
    assert "https://github.com/apache/tvm/issues/101" in await agenda_links(app, "2022-03-02")

    # The meeting; notes on the two GitHub items (one mentioning @someone, which must not ping them).
    clock.set(FIRST + timedelta(minutes=10))
    view = await app.services.agenda.list("tvm", None, FIRST.date())
    item_of = {item.link.rsplit("/", 1)[1]: item.number for item in view.agenda}
    alice = members.chair()
    await ok(chat, alice, f'/notes add "Everyone agrees, @tqchen too" item=#{item_of["101"]}')
    await ok(chat, alice, f'/notes add "Merge the meetings" item=#{item_of["101"]} kind=decision')
    await ok(chat, alice, f'/notes add "Update the calendar" item=#{item_of["101"]} kind=action owner=@carol')
    await ok(chat, alice, f'/notes add "Runners donated" item=#{item_of["102"]}')

    # A flaky GitHub: the first comment is made but its answer lost (a 500), the second item meets a
    # 429 with Retry-After, then a 502, then its rate limit used up; every comment is still made once.
    fake_github.fail("POST", "/issues/101/comments", Failure(500, after_acting=True))
    fake_github.fail("GET", "/issues/102/comments", Failure(429, headers={"Retry-After": "30"}),
                     Failure(502))
    fake_github.fail("POST", "/issues/102/comments", Failure(403, headers={"X-RateLimit-Remaining": "0"},
                                                             body={"message": "API rate limit exceeded"}))
    published = await ok(chat, alice, "/notes publish")
    assert published.data["posted"] is True
    rounds = await drain_github(app, clock)
    assert rounds > 3
    comments = fake_github.comments
    assert [len(comments[(REPO, n)]) for n in (101, 102)] == [1, 1]
    first = comments[(REPO, 101)][0]["body"]
    assert "**Decisions**\n\n- Merge the meetings" in first and "- [ ] Update the calendar (carol)" in first
    assert "@\u2060tqchen" in first and "@tqchen" not in first
    assert "<!-- quorum-minutes meeting=" in first
    assert "Runners donated" in comments[(REPO, 102)][0]["body"]
    # The 429 and the used-up rate limit were waited out as GitHub asked (Retry-After, X-RateLimit-Reset).
    async with app.db.read() as session:
        rows = {m.target: m for m in await outbox_q.all_messages(session) if m.kind == "github_comment"}
    assert rows[f"{REPO}#102"].status == "sent" and rows[f"{REPO}#102"].attempts >= 4
    assert rows[f"{REPO}#101"].status == "sent" and rows[f"{REPO}#101"].attempts >= 2
    assert clock.now() >= FIRST + timedelta(minutes=10, hours=1)  # waited for X-RateLimit-Reset (1 h)

    # Republishing after one more note edits the comments: still one per item.
    await ok(chat, alice, f'/notes add "Runner owners: infra team" item=#{item_of["102"]}')
    posts_before = sum(1 for r in fake_github.requests if r.method == "POST")
    await ok(chat, alice, "/notes publish")
    await drain_github(app, clock)
    assert [len(comments[(REPO, n)]) for n in (101, 102)] == [1, 1]
    assert "Runner owners: infra team" in comments[(REPO, 102)][0]["body"]
    assert sum(1 for r in fake_github.requests if r.method == "POST") == posts_before
    assert any(r.method == "PATCH" for r in fake_github.requests)
    # Publishing the same minutes again writes nothing more.
    again = await ok(chat, alice, "/notes publish")
    assert again.data["posted"] is False

    # The issue linked from chat that GitHub does not know (404): given up, and shown in `quorum outbox`.
    report = await outbox_report(app.db)
    assert "failed" not in report.split("\n")[0] or "failed 0" in report
    assert TOKEN not in report and TOKEN not in caplog.text
    for request in fake_github.requests:
        assert request.authorization == f"token {TOKEN}"


async def test_a_comment_github_refuses_is_shown_in_quorum_outbox(app: App, fake_github: FakeGitHub,
                                                                  clock: ManualClock, members: Members) -> None:
    chat = app.dispatcher
    await ok(chat, members.chair(), SEED_SERIES)
    added = await ok(chat, members.member("bob"), '/agenda add "Gone" https://github.com/apache/tvm/issues/999')
    assert added.data["item"]["title"] == "Gone" and "GitHub 404" in added.text
    clock.set(FIRST + timedelta(minutes=10))
    await ok(chat, members.chair(), f'/notes add "Was it deleted?" item=#{added.data["item"]["id"]}')
    await ok(chat, members.chair(), "/notes publish")
    await drain_github(app, clock)
    report = await outbox_report(app.db)
    assert "failed 1" in report.split("\n")[0]
    assert f"github_comment to {REPO}#999" in report and "GitHub 404" in report
    assert TOKEN not in report


async def test_a_republish_supersedes_a_comment_still_waiting(app: App, fake_github: FakeGitHub,
                                                              clock: ManualClock, members: Members) -> None:
    chat, alice = app.dispatcher, members.chair()
    await ok(chat, alice, SEED_SERIES)
    fake_github.issue(REPO, 5, "Release 0.9")
    added = await ok(chat, members.member("bob"), '/agenda add "x" https://github.com/apache/tvm/issues/5')
    item = added.data["item"]["id"]
    clock.set(FIRST + timedelta(minutes=10))
    await ok(chat, alice, f'/notes add "First version" item=#{item}')
    fake_github.fail("GET", "/issues/5/comments", Failure(503))
    await ok(chat, alice, "/notes publish")
    report = await app.services.outbox_dispatcher.dispatch_due()
    assert report.retried == 1 and fake_github.comments == {}
    await ok(chat, alice, f'/notes add "Second version" item=#{item}')
    await ok(chat, alice, "/notes publish")
    await drain_github(app, clock)
    (comment,) = fake_github.comments[(REPO, 5)]
    assert "Second version" in comment["body"] and "First version" in comment["body"]
    async with app.db.read() as session:
        statuses = sorted(m.status for m in await outbox_q.all_messages(session) if m.kind == "github_comment")
    assert statuses == ["cancelled", "sent"]
    assert sum(1 for r in fake_github.requests if r.method in ("POST", "PATCH")) == 1


async def test_without_a_token_publishing_writes_no_comment_that_could_never_be_sent(
        github_settings: Settings, clock: ManualClock, members: Members) -> None:
    from dataclasses import replace

    from bot.app import build_app
    from bot.config import Secrets

    app = build_app(replace(github_settings, secrets=Secrets()), clock=clock, platforms=())
    try:
        chat, alice = app.dispatcher, members.chair()
        await ok(chat, alice, SEED_SERIES)
        added = await ok(chat, members.member("bob"), '/agenda add "x" https://github.com/apache/tvm/issues/5')
        clock.set(FIRST + timedelta(minutes=10))
        await ok(chat, alice, f'/notes add "Done" item=#{added.data["item"]["number"]}')
        await ok(chat, alice, "/notes publish")
        async with app.db.read() as session:
            kinds = [m.kind for m in await outbox_q.all_messages(session)]
        assert "github_comment" not in kinds and "channel" in kinds  # the chat minutes still go out
    finally:
        await app.close()
