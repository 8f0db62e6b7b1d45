"""The forum record beyond the meeting week (tests/e2e/test_forum_week.py): votes on the record, the
series' forum settings, and what happens without a forum."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.console_notifier import ConsoleNotifier
from bot.app import App, adapter_status, build_app
from bot.clock import ManualClock
from bot.config import ForumConfig, Secrets, Settings
from bot.rules.forum import vote_external_id
from bot.services.outbox import outbox_report
from storage.queries import outbox as outbox_q
from tests.fakes.discourse import API_KEY, USERNAME, FakeDiscourse
from tests.helpers import SEED_SERIES, Members, ok, run, utc


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    fake = await FakeDiscourse().start()
    yield fake
    await fake.close()


@pytest.fixture
async def app(database_url: str, settings: Settings, clock: ManualClock, forum: FakeDiscourse) -> AsyncIterator[App]:
    configured = replace(settings, database_url=database_url, default_display_zones=("UTC", "Asia/Shanghai"),
                         forum=ForumConfig(url=forum.url, username=USERNAME, category="meetings",
                                           vote_category="votes"),
                         secrets=Secrets(discourse_api_key=API_KEY))
    made = build_app(configured, clock)
    made.services.notifiers["console"] = ConsoleNotifier(io.StringIO())
    yield made
    await made.close()


async def test_a_vote_is_opened_and_answered_on_the_forum(app: App, clock: ManualClock, members: Members,
                                                          forum: FakeDiscourse) -> None:
    alice, carol = members.chair("alice"), members.chair("carol")
    clock.set(utc(2027, 3, 16, 22))
    await ok(app.dispatcher, alice, "/me tz UTC")  # alice is known to hold PMC when the vote opens
    opened = await ok(app.dispatcher, alice, '/vote open "Adopt the @everyone RFC" link=https://github.com/a/b/pull/1')
    vote_id = opened.data["vote"]["id"]
    digest = opened.data["vote"]["electorate_digest"]
    await app.reminders_tick()
    topic = forum.topic_by_external_id(vote_external_id(vote_id))
    assert topic is not None and topic.title == "[VOTE] Adopt the @everyone RFC" and topic.category_id == 8
    body = topic.posts[0].raw
    assert "@\u200beveryone" in body  # no mass mention on the forum
    assert "- **Fri 2027-03-19 22:00 UTC (UTC)**" in body or "Fri 2027-03-19 22:00 UTC" in body
    assert "- Sat 2027-03-20 06:00 CST (Asia/Shanghai)" in body  # the deadline's weekday there
    assert f"digest `{digest}`" in body and "**Electorate:** 2 holders of PMC" in body
    held = opened.data["vote"]["opened_digest"]
    assert f"**Opened digest:** `{held}`" in body and f"quorum verify --digest {vote_id}={held}" in body
    assert f"/vote cast #{vote_id} +1" in body

    await ok(app.dispatcher, carol, f"/vote cast #{vote_id} +1")
    await ok(app.dispatcher, alice, f"/vote cast #{vote_id} +1")
    closed = await ok(app.dispatcher, alice, f"/vote close #{vote_id}")
    await app.reminders_tick()
    await app.reminders_tick()
    assert len(topic.posts) == 2
    result = topic.posts[1].raw
    assert result.startswith("## [RESULT][VOTE] Adopt the @\u200beveryone RFC")
    assert "+1 alice" in result and "+1 carol" in result
    async with app.db.read() as session:
        rows = {r.key: r for r in await outbox_q.with_prefix(session, f"forum:vote:{vote_id}:")}
    assert set(rows) == {f"forum:vote:{vote_id}:open", f"forum:vote:{vote_id}:result"}
    assert all(r.status == "sent" for r in rows.values())
    assert f"Final log digest: `{closed.data['vote']['head_digest']}`" in result
    assert f"Opened digest: `{held}`" in result


async def test_series_forum_settings(app: App, clock: ManualClock, members: Members, forum: FakeDiscourse) -> None:
    alice, bob = members.chair("alice"), members.member("bob")
    clock.set(utc(2022, 3, 1, 10))
    await ok(app.dispatcher, alice, SEED_SERIES + " forum_category=off")
    await app.reminders_tick()
    assert forum.topics == {}  # this series keeps off the forum

    refused = await run(app.dispatcher, bob, "/meeting series edit community forum_category=meetings")
    assert not refused.ok
    empty = await run(app.dispatcher, alice, "/meeting series edit community")
    assert not empty.ok and "forum_category=" in empty.text
    bad = await run(app.dispatcher, alice, "/meeting series edit community published_before=soon")
    assert not bad.ok and "not a duration" in bad.text
    assert (await app.services.meetings.resolve_series("tvm", "community")).forum_category == "off"

    edited = await ok(app.dispatcher, alice, "/meeting series edit community forum_category=meetings "
                                            "published_before=24h")
    assert "meeting topics in forum category meetings" in edited.text and "published 1d before" in edited.text
    await ok(app.dispatcher, bob, '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    await app.reminders_tick()
    assert [t.title for t in forum.topics.values()] == ["TVM Community Meeting, Wed 2022-03-02"]
    # The next meeting's topic opens once this one is over, not before.
    clock.set(utc(2022, 3, 2, 16, 59))
    await app.reminders_tick()
    assert len(forum.topics) == 1
    clock.advance(timedelta(minutes=1))
    await app.reminders_tick()
    assert len(forum.topics) == 2


async def test_a_slow_forum_does_not_hold_up_adding_an_item(app: App, clock: ManualClock, members: Members,
                                                           forum: FakeDiscourse) -> None:
    app.services.agenda.forum_topics.timeout = 0.2  # type: ignore[union-attr]
    forum.delay = 1.0
    clock.set(utc(2022, 3, 1, 10))
    await ok(app.dispatcher, members.chair("alice"), SEED_SERIES)
    added = await ok(app.dispatcher, members.member("bob"), f'/agenda add "Slow one" {forum.url}/t/slow/12')
    assert "did not answer" in added.text and '"Slow one"' in added.text
    forum.delay = 0
    missing = await run(app.dispatcher, members.member("bob"), f'/agenda add "Gone" {forum.url}/t/gone/99999')
    assert not missing.ok and "no topic 99999" in missing.text


def test_run_without_a_key_says_how_to_add_the_forum(settings: Settings) -> None:
    assert adapter_status(settings)[-1].startswith("Forum: off. To announce meetings and votes on a Discourse forum")
    half = replace(settings, forum=ForumConfig(url="https://discuss.example.org"))
    assert "DISCOURSE_API_KEY is not set" in adapter_status(half)[-1]
    on = replace(half, secrets=Secrets(discourse_api_key="k-secret"))
    assert adapter_status(on)[-1].startswith("Forum: on") and "k-secret" not in " ".join(adapter_status(on))


async def test_a_refused_key_fails_visibly_in_quorum_outbox(database_url: str, settings: Settings, clock: ManualClock,
                                                            members: Members, forum: FakeDiscourse) -> None:
    wrong = replace(settings, database_url=database_url,
                    forum=ForumConfig(url=forum.url, username=USERNAME, category="meetings"),
                    secrets=Secrets(discourse_api_key="wrong-key-123456"))
    app = build_app(wrong, clock)
    app.services.notifiers["console"] = ConsoleNotifier(io.StringIO())
    try:
        clock.set(utc(2022, 3, 1, 10))
        await ok(app.dispatcher, members.chair("alice"), SEED_SERIES)
        await app.reminders_tick()
        report = await outbox_report(app.db)
    finally:
        await app.close()
    assert forum.topics == {}
    assert "failed  " in report and "forum_topic to quorum-m1-2022-03-02" in report
    assert "The API username or key is invalid" in report and "wrong-key" not in report


async def test_cancel_restore_and_removal_edit_the_same_topic(app: App, clock: ManualClock, members: Members,
                                                              forum: FakeDiscourse) -> None:
    alice, bob = members.chair("alice"), members.member("bob")
    clock.set(utc(2022, 3, 1, 10))
    await ok(app.dispatcher, alice, SEED_SERIES)
    await ok(app.dispatcher, bob, '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    await app.reminders_tick()
    (topic,) = forum.topics.values()
    assert "1. [Relay VM](" in topic.posts[0].raw
    await ok(app.dispatcher, alice, '/meeting cancel 2022-03-02 reason="release week"')
    await app.reminders_tick()
    assert topic.title.startswith("[No meeting this week] ")
    assert "cancelled because a chair cancelled it: release week" in topic.posts[0].raw
    await ok(app.dispatcher, alice, "/meeting restore 2022-03-02")
    await app.reminders_tick()
    assert topic.title == "TVM Community Meeting, Wed 2022-03-02"
    await ok(app.dispatcher, bob, "/agenda remove #1")
    await app.reminders_tick()
    assert "_No items yet._" in topic.posts[0].raw and len(forum.topics) == 1 and len(topic.posts) == 1


async def test_a_republish_supersedes_forum_minutes_still_waiting(app: App, clock: ManualClock, members: Members,
                                                                  forum: FakeDiscourse) -> None:
    alice = members.chair("alice")
    clock.set(utc(2022, 3, 1, 10))
    await ok(app.dispatcher, alice, SEED_SERIES)
    pre_rfc = forum.add_topic("[pre-RFC] Unify", utc(2022, 2, 1))
    await ok(app.dispatcher, members.member("bob"), f'/agenda add "x" {forum.url}/t/x/{pre_rfc.id}')
    await app.reminders_tick()
    clock.set(utc(2022, 3, 2, 16, 10))  # during the meeting
    await ok(app.dispatcher, alice, '/notes add "First version" item=#1')
    forum.fail_next(503, count=10)  # the forum fails while the first version is due
    await ok(app.dispatcher, alice, "/notes publish")
    await app.services.outbox_dispatcher.dispatch_due()
    forum.faults.clear()
    await ok(app.dispatcher, alice, '/notes add "Second version" item=#1')
    await ok(app.dispatcher, alice, "/notes publish")
    for _ in range(5):  # past any backoff: the first version, if still waiting, would go now
        clock.advance(timedelta(minutes=30))
        await app.reminders_tick()
    assert len(pre_rfc.posts) == 2 and "Second version" in pre_rfc.posts[1].raw
    async with app.db.read() as session:
        versions = {r.key: r.status for r in await outbox_q.with_prefix(session, "forum:item:")}
    assert sorted(versions.values()) == ["cancelled", "sent"], versions
