"""Issue 15 end to end, both halves in one app, on SQLite and PostgreSQL: one series with a forum category AND
a GitHub label, the app built as ``quorum run`` builds it with the forum URL and ``GITHUB_API_URL`` pointing
at the local fakes (tests/fakes/discourse.py, tests/adapters/github/fake_github.py).

Week 1: an issue labelled on GitHub and a forum-linked topic added from chat both become items; the meeting's
forum topic is created, edited to list both, finalised at the deadline; after the meeting the minutes go to
the meeting topic, the linked forum topic and the GitHub issue, each once (republishing edits).
Week 2: nothing is added: the forum topic ends as "No meeting this week".
Week 3: the forum answers 500s and a 429 with Retry-After while GitHub works: every post is still made
exactly once. No sleeps: the injected clock is moved and the app's own ticks plan and send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import pytest

from bot.app import App
from bot.clock import ManualClock
from bot.config import ForumConfig, GitHubConfig, Secrets, Settings
from bot.rules.forum import meeting_external_id
from storage.queries import outbox as outbox_q
from tests.adapters.github.conftest import LABEL, REPO, drain_github
from tests.adapters.github.fake_github import TOKEN, FakeGitHub
from tests.e2e.test_forum_week import make_app, meeting_topic, tick_until_quiet
from tests.fakes.discourse import API_KEY, USERNAME, FakeDiscourse
from tests.helpers import Members, ok, utc

# The [github] labels map names the series by its slug: "community" -> LABEL.
SERIES = ('/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz=America/Los_Angeles zones=UTC,Asia/Shanghai start=2022-03-02 channel=general "
          "forum_category=meetings published_before=24h")
ISSUE_URL = f"https://github.com/{REPO}/issues"


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    fake = await FakeDiscourse().start()
    yield fake
    await fake.close()


@pytest.fixture
async def github(clock: ManualClock) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(clock)
    await fake.start()
    fake.repos.setdefault(REPO, {})
    yield fake
    await fake.close()


def both_settings(settings: Settings, database_url: str, forum: FakeDiscourse, github: FakeGitHub) -> Settings:
    return replace(settings, database_url=database_url,
                   forum=ForumConfig(url=forum.url, username=USERNAME, category="meetings"),
                   github=GitHubConfig(repositories=(REPO,), labels={"community": LABEL}, poll_seconds=300),
                   github_api_url=github.url(),
                   secrets=Secrets(discourse_api_key=API_KEY, github_token=TOKEN))


async def settle(app: App, clock: ManualClock) -> None:
    """Everything queued for the forum and GitHub sent (retries waited out on the clock)."""
    await tick_until_quiet(clock, app)
    await drain_github(app, clock)
    await tick_until_quiet(clock, app)


async def agenda_ids(app: App, day: date) -> dict[str, int]:
    view = await app.services.agenda.list("tvm", "community", day)
    return {item.link: item.number for item in view.agenda}


def bot_posts(forum: FakeDiscourse) -> list[str]:
    return [p.raw for p in forum.posts.values() if p.username == USERNAME]


async def test_a_public_record_week_on_forum_and_github(
        database_url: str, settings: Settings, clock: ManualClock, members: Members,
        forum: FakeDiscourse, github: FakeGitHub) -> None:
    app = make_app(both_settings(settings, database_url, forum, github), clock)
    alice, bob = members.chair("alice"), members.member("bob")
    pre_rfc = forum.add_topic("[pre-RFC] Unify the meetings", utc(2022, 2, 20, 9))
    github.issue(REPO, 101, "Relay VM roadmap")
    try:
        # -- week 1 --------------------------------------------------------------------------------------
        clock.set(utc(2022, 3, 1, 10))
        await ok(app.dispatcher, alice, SERIES)
        series_id = (await app.services.meetings.resolve_series("tvm", "community")).id
        await app.reminders_tick()
        topic = meeting_topic(forum, series_id, "2022-03-02")
        assert topic.title == "TVM Community Meeting, Wed 2022-03-02" and topic.category_id == 7
        assert "_No items yet._" in topic.posts[0].raw and topic.posts[0].revisions == 1

        # An item from the label (added before the deadline), one from chat linking a forum topic.
        github.label(REPO, 101, LABEL, by="bob-gh", at=utc(2022, 3, 1, 10, 30))
        clock.set(utc(2022, 3, 1, 11))
        await app.services.github.poll_tick()
        added = await ok(app.dispatcher, bob, f'/agenda add "unify" {forum.url}/t/unify/{pre_rfc.id}')
        assert "[pre-RFC] Unify the meetings" in added.text
        items = await agenda_ids(app, date(2022, 3, 2))
        assert set(items) == {f"{ISSUE_URL}/101", f"{forum.url}/t/unify/{pre_rfc.id}"}, items

        await app.reminders_tick()
        body = topic.posts[0].raw
        assert f"[Relay VM roadmap](<{ISSUE_URL}/101>)" in body, body
        assert "[\\[pre-RFC\\] Unify the meetings](<" in body and "_No items yet._" not in body
        assert topic.posts[0].revisions == 2  # one edit for both items
        await app.reminders_tick()
        assert topic.posts[0].revisions == 2  # nothing changed: nothing sent

        clock.set(utc(2022, 3, 1, 16))  # the agenda deadline (24 h before): the final topic
        await app.reminders_tick()
        assert "**The agenda is closed.**" in topic.posts[0].raw and len(topic.posts) == 1
        assert topic.title == "TVM Community Meeting, Wed 2022-03-02"

        clock.set(utc(2022, 3, 2, 16, 40))
        await ok(app.dispatcher, alice,
                 f'/notes add "Relay VM ships in 0.9" item=#{items[f"{ISSUE_URL}/101"]} kind=decision')
        await ok(app.dispatcher, alice,
                 f'/notes add "@everyone agrees on one meeting" item=#{items[f"{forum.url}/t/unify/{pre_rfc.id}"]}')
        await ok(app.dispatcher, alice, "/notes publish")
        await settle(app, clock)
        assert len(topic.posts) == 2 and topic.posts[1].username == USERNAME
        minutes = topic.posts[1].raw
        assert "Relay VM ships in 0.9" in minutes and "@\u200beveryone agrees on one meeting" in minutes
        assert len(pre_rfc.posts) == 2 and "agrees on one meeting" in pre_rfc.posts[1].raw
        assert "Relay VM ships" not in pre_rfc.posts[1].raw  # the linked topic gets its own item's notes only
        (comment,) = github.comments[(REPO, 101)]
        assert "**Decisions**" in comment["body"] and "Relay VM ships in 0.9" in comment["body"]
        assert "agrees on one meeting" not in comment["body"]

        # Republished with one more note: every reply and the comment are edited, none duplicated.
        posts_before = sum(1 for r in github.requests if r.method == "POST")
        await ok(app.dispatcher, alice,
                 f'/notes add "Write the RFC" item=#{items[f"{ISSUE_URL}/101"]} kind=action owner=@bob')
        await ok(app.dispatcher, alice, "/notes publish")
        await settle(app, clock)
        assert len(topic.posts) == 2 and "### bob\n\n- [ ] Write the RFC" in topic.posts[1].raw
        assert len(pre_rfc.posts) == 2
        (comment,) = github.comments[(REPO, 101)]
        assert "Write the RFC (bob)" in comment["body"]
        assert sum(1 for r in github.requests if r.method == "POST") == posts_before
        assert any(r.method == "PATCH" for r in github.requests)

        # -- week 2: nobody adds anything; the label stays on #101, but one labelling is one meeting's item
        # (docs/github.md: removing and adding the label again is what puts it on a later meeting) ----------
        clock.set(utc(2022, 3, 2, 17, 1))
        assert LABEL in github.repos[REPO][101].labels
        await app.services.github.poll_tick()
        await app.reminders_tick()
        empty = meeting_topic(forum, series_id, "2022-03-09")
        assert empty.title == "TVM Community Meeting, Wed 2022-03-09"
        assert "_No items yet._" in empty.posts[0].raw
        assert await agenda_ids(app, date(2022, 3, 9)) == {}
        clock.set(utc(2022, 3, 8, 16))
        await app.services.github.poll_tick()
        await app.reminders_tick()
        assert empty.title == "[No meeting this week] TVM Community Meeting, Wed 2022-03-09"
        assert "**No meeting this week.**" in empty.posts[0].raw and len(empty.posts) == 1
        assert "Next meeting: Wed 2022-03-16 08:00 PDT" in empty.posts[0].raw
        assert len(github.comments) == 1  # GitHub is not told about a meeting with nothing on it

        # -- week 3: a flaky forum, GitHub fine --------------------------------------------------------------
        clock.set(utc(2022, 3, 9, 16))
        forum.fail_next(500, 2)
        forum.fail_next(429, retry_after="90")
        await tick_until_quiet(clock, app)
        third = meeting_topic(forum, series_id, "2022-03-16")
        assert third.title == "TVM Community Meeting, Wed 2022-03-16" and len(third.posts) == 1

        github.issue(REPO, 102, "ARM CI runners")
        github.label(REPO, 102, LABEL, by="bob-gh")
        await app.services.github.poll_tick()
        forum.fail_next(500)
        forum.fail_next(429, retry_after="30")
        await tick_until_quiet(clock, app)
        assert f"[ARM CI runners](<{ISSUE_URL}/102>)" in third.posts[0].raw

        clock.set(utc(2022, 3, 15, 15))  # the deadline (PDT now)
        forum.fail_next(500)
        await tick_until_quiet(clock, app)
        assert "**The agenda is closed.**" in third.posts[0].raw

        clock.set(utc(2022, 3, 16, 15, 30))
        third_items = await agenda_ids(app, date(2022, 3, 16))
        assert list(third_items) == [f"{ISSUE_URL}/102"]
        await ok(app.dispatcher, alice,
                 f'/notes add "Runners donated by the infra team" item=#{third_items[f"{ISSUE_URL}/102"]}')
        forum.fail_next(500, 2)
        forum.fail_next(429, retry_after="60")
        await ok(app.dispatcher, alice, "/notes publish")
        await settle(app, clock)
        assert len(third.posts) == 2 and "Runners donated by the infra team" in third.posts[1].raw
        assert [c["body"].count("Runners donated") for c in github.comments[(REPO, 102)]] == [1]
        assert len(github.comments[(REPO, 101)]) == 1

        # Every post made exactly once: topics, minutes replies, the linked topic's reply, the comments.
        external_ids = [t.external_id for t in forum.topics.values() if t.external_id]
        assert sorted(external_ids) == sorted({*external_ids})
        for day in ("2022-03-02", "2022-03-09", "2022-03-16"):
            assert meeting_external_id(series_id, day) in external_ids
        minutes_replies = [raw for raw in bot_posts(forum) if "Runners donated" in raw or "Relay VM ships" in raw]
        assert len(minutes_replies) == 2  # one per meeting held (03-02, 03-16), each edited, never repeated
        assert len(pre_rfc.posts) == 2
        assert {k: len(v) for k, v in github.comments.items()} == {(REPO, 101): 1, (REPO, 102): 1}
        async with app.db.read() as session:
            rows = [r for r in await outbox_q.all_messages(session) if r.key.startswith(("forum:", "github_comment:"))]
        # (Chat reminders the jumps of the clock skipped are "missed": not this test's business.)
        assert {r.status for r in rows} <= {"sent", "cancelled"}, [(r.key, r.status, r.last_error) for r in rows]
        retried = [r for r in rows if r.status == "sent" and r.attempts > 1 and r.key.startswith("forum:")]
        assert len(retried) >= 3, [(r.kind, r.key, r.attempts) for r in rows]  # the faults were met, retried
        assert not forum.faults  # every queued fault was met
        assert API_KEY not in " ".join(r.last_error or "" for r in rows)
        assert TOKEN not in " ".join(r.last_error or "" for r in rows)
    finally:
        await app.close()
