"""Issue 15, the forum half, end to end on both databases: the app (build_app) with a local fake Discourse
reached through the configured forum URL, members typing commands, the injected clock moved from step to
step and the app's own tick planning and sending.

Week 1: the topic opens, follows the agenda (items from chat, one titled from its forum topic, one refused by
the pre-RFC rule, one added while the forum is down), is finalised at the deadline, and gets the minutes
once (republishing edits the reply); the forum-linked item gets its notes in its own topic.
Week 2: nobody adds anything: the topic ends as "No meeting this week", title marked, as chat says.
Week 3: the forum fails (500s, a 429 with Retry-After, an answer lost after the forum acted) while two
replicas tick: every topic and reply still exists exactly once."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.console_notifier import ConsoleNotifier
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import ForumConfig, Secrets, Settings
from bot.rules.forum import meeting_external_id
from storage.queries import outbox as outbox_q
from tests.fakes.discourse import API_KEY, USERNAME, FakeDiscourse, FakeTopic
from tests.helpers import Members, ok, run, utc

SERIES = ('/meeting series create slug=tvm name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz=America/Los_Angeles zones=UTC,Europe/London,Asia/Shanghai start=2022-03-02 channel=general "
          "forum_category=meetings published_before=24h")


@pytest.fixture
async def forum() -> AsyncIterator[FakeDiscourse]:
    fake = await FakeDiscourse().start()
    yield fake
    await fake.close()


def forum_settings(settings: Settings, database_url: str, forum: FakeDiscourse) -> Settings:
    return replace(settings, database_url=database_url,
                   forum=ForumConfig(url=forum.url, username=USERNAME, category="meetings"),
                   secrets=Secrets(discourse_api_key=API_KEY))


def make_app(settings: Settings, clock: ManualClock) -> App:
    app = build_app(settings, clock)
    app.services.notifiers["console"] = ConsoleNotifier(io.StringIO())
    return app


async def tick_until_quiet(clock: ManualClock, *apps: App, step: timedelta = timedelta(minutes=1),
                           rounds: int = 40) -> None:
    """Tick (every replica at once), moving the clock a little each round, until nothing is pending."""
    for _ in range(rounds):
        await asyncio.gather(*(app.reminders_tick() for app in apps))
        async with apps[0].db.read() as session:
            pending = [r for r in await outbox_q.with_prefix(session, "forum:") if r.status == "pending"]
        if not pending:
            return
        clock.advance(step)
    raise AssertionError(f"still pending after {rounds} rounds: {[(r.key, r.last_error) for r in pending]}")


def meeting_topic(forum: FakeDiscourse, series_id: int, day: str) -> FakeTopic:
    topic = forum.topic_by_external_id(meeting_external_id(series_id, day))
    assert topic is not None, f"no topic for {day}"
    return topic


async def test_a_forum_week_then_an_empty_week_then_a_flaky_forum(
        database_url: str, settings: Settings, clock: ManualClock, members: Members, forum: FakeDiscourse) -> None:
    configured = forum_settings(settings, database_url, forum)
    app = make_app(configured, clock)
    alice, bob, dan, erin = members.chair("alice"), members.member("bob"), members.member("dan"), members.member("erin")
    pre_rfc = forum.add_topic("[pre-RFC] Unify the meetings", utc(2022, 2, 20, 9))
    fresh = forum.add_topic("[pre-RFC] Relax the IR", utc(2022, 3, 1, 20))
    old = forum.add_topic("An old discussion", utc(2022, 1, 5, 9))
    try:
        # -- week 1 ------------------------------------------------------------------------------
        clock.set(utc(2022, 3, 1, 10))
        await ok(app.dispatcher, alice, SERIES)
        series_id = (await app.services.meetings.resolve_series("tvm", "tvm")).id
        await app.reminders_tick()
        topic = meeting_topic(forum, series_id, "2022-03-02")
        assert topic.title == "TVM Community Meeting, Wed 2022-03-02" and topic.category_id == 7
        body = topic.posts[0].raw
        assert "- **Wed 2022-03-02 08:00 PST (America/Los_Angeles)**" in body
        assert "- Thu 2022-03-03 00:00 CST (Asia/Shanghai)" in body  # the weekday shift, from the zone database
        assert "until Tue 2022-03-01 08:00 PST" in body and "_No items yet._" in body
        assert "/calendar/tvm.ics" in body
        # The next meeting's topic waits until this one is over.
        assert forum.topic_by_external_id(meeting_external_id(series_id, "2022-03-09")) is None

        added = await ok(app.dispatcher, bob, f'/agenda add "unify" {forum.url}/t/unify/{pre_rfc.id}')
        assert "[pre-RFC] Unify the meetings" in added.text and "Title taken from the forum" in added.text
        refused = await run(app.dispatcher, dan, f'/agenda add "relax" {forum.url}/t/relax/{fresh.id}')
        assert not refused.ok
        # The same link as Slack sends it (wrapped in <...>) meets the same rule.
        wrapped = await run(app.dispatcher, dan, f'/agenda add "relax" <{forum.url}/t/relax/{fresh.id}>')
        assert not wrapped.ok and wrapped.text == refused.text
        assert "eligible for meetings from Wed 2022-03-02 12:00 PST" in refused.text
        assert "Wed 2022-03-09 08:00 PST" in refused.text and "date=2022-03-09" in refused.text
        await ok(app.dispatcher, dan, '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
        forum.fail_next(500)  # the forum is down while erin adds hers: added anyway, with a note
        down = await ok(app.dispatcher, erin, f'/agenda add "Old thread" {forum.url}/t/x/{old.id}/3')
        assert "did not answer" in down.text and "Old thread" in down.text
        await app.reminders_tick()
        assert len(forum.topics) == 4  # the members' three and this meeting's topic
        body = topic.posts[0].raw
        assert "1. [\\[pre-RFC\\] Unify the meetings](" in body
        assert "2. [Relay VM](<https://github.com/apache/tvm/issues/1>)" in body
        assert "3. [Old thread](" in body and topic.posts[0].revisions == 2  # one edit for the three items
        await app.reminders_tick()
        assert topic.posts[0].revisions == 2  # nothing changed: nothing sent

        clock.set(utc(2022, 3, 1, 16))  # the agenda deadline: the chat announcement and the final topic
        await app.reminders_tick()
        body = topic.posts[0].raw
        assert "**The agenda is closed.**" in body and "until" not in body
        assert topic.title == "TVM Community Meeting, Wed 2022-03-02" and len(topic.posts) == 1

        clock.set(utc(2022, 3, 2, 16, 40))
        await ok(app.dispatcher, alice, '/notes add "@everyone agrees on one meeting" item=#1 kind=decision')
        await ok(app.dispatcher, alice, "/notes publish")
        await ok(app.dispatcher, alice, "/notes publish")  # the same minutes: nothing new
        await app.reminders_tick()
        assert len(topic.posts) == 2 and topic.posts[1].username == USERNAME
        assert "@\u200beveryone agrees on one meeting" in topic.posts[1].raw  # no mass ping on the forum
        assert "@everyone" not in topic.posts[1].raw + pre_rfc.posts[-1].raw
        assert len(pre_rfc.posts) == 2 and "**Decisions**" in pre_rfc.posts[1].raw
        await ok(app.dispatcher, alice, '/notes add "Write the RFC" item=#1 kind=action owner=@bob')
        await ok(app.dispatcher, alice, "/notes publish")  # republished: the replies are edited
        await app.reminders_tick()
        assert len(topic.posts) == 2 and "Write the RFC" in topic.posts[1].raw
        assert len(pre_rfc.posts) == 2 and "Write the RFC (bob)" in pre_rfc.posts[1].raw
        assert len(fresh.posts) == 1  # refused, so never on an agenda, so no reply
        assert len(old.posts) == 2 and "_No notes were recorded for this item._" in old.posts[1].raw

        # -- week 2: nobody adds anything ---------------------------------------------------------------
        clock.set(utc(2022, 3, 2, 17, 1))  # right after the meeting ended: the next topic opens
        await app.reminders_tick()
        empty = meeting_topic(forum, series_id, "2022-03-09")
        assert empty.title == "TVM Community Meeting, Wed 2022-03-09" and "_No items yet._" in empty.posts[0].raw
        clock.set(utc(2022, 3, 8, 16))
        await app.reminders_tick()
        assert empty.title == "[No meeting this week] TVM Community Meeting, Wed 2022-03-09"
        assert ("**No meeting this week.** This meeting is cancelled because its agenda has no items."
                in empty.posts[0].raw)
        assert "Next meeting: Wed 2022-03-16 08:00 PDT" in empty.posts[0].raw  # after the DST change
        assert len(empty.posts) == 1

        # -- week 3: a flaky forum and two replicas ------------------------------------------------------
        replica = make_app(configured, clock)
        try:
            clock.set(utc(2022, 3, 9, 16))
            forum.fail_next(500, 2)
            forum.fail_next(429, retry_after="90")
            forum.lose_next_write_answer()
            await tick_until_quiet(clock, app, replica)
            third = meeting_topic(forum, series_id, "2022-03-16")
            await ok(app.dispatcher, dan, '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
            forum.lose_next_write_answer()
            forum.fail_next(500)
            await tick_until_quiet(clock, app, replica)
            assert "Relay VM" in third.posts[0].raw
            clock.set(utc(2022, 3, 15, 15))
            forum.fail_next(429, retry_after="30")
            await tick_until_quiet(clock, app, replica)
            assert "**The agenda is closed.**" in third.posts[0].raw
            clock.set(utc(2022, 3, 16, 16, 30))
            await ok(app.dispatcher, alice, '/notes add "Relay VM ships in 0.9" kind=decision')
            forum.fail_next(500)
            forum.lose_next_write_answer()
            await ok(app.dispatcher, alice, "/notes publish")
            await tick_until_quiet(clock, app, replica)
            assert len(third.posts) == 2 and "Relay VM ships in 0.9" in third.posts[1].raw
        finally:
            await replica.close()

        # Every meeting topic exists once, and nothing was given up.
        external_ids = [t.external_id for t in forum.topics.values() if t.external_id]
        assert sorted(external_ids) == sorted({*external_ids})
        # Meetings of 03-02, 03-09, 03-16, and 03-23 (opened once 03-16 ended, while the replicas ticked on).
        assert len(external_ids) == 4 and len([p for p in forum.posts.values() if p.username == USERNAME]) == 8
        async with app.db.read() as session:
            rows = await outbox_q.with_prefix(session, "forum:")
        assert {r.status for r in rows} == {"sent"}, [(r.key, r.status, r.last_error) for r in rows]
        assert sum(r.attempts > 1 for r in rows) >= 4  # the faults were met, and retried
        assert API_KEY not in " ".join(r.last_error or "" for r in rows)
    finally:
        await app.close()
