"""The forum notifier against a local fake Discourse: topics opened once per external id (even when the
forum's answer was lost), edited in place, replies found again by their marker, faults mapped to what
the outbox retries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.discourse.client import DiscourseClient, ForumRefused
from bot.adapters.discourse.notifier import ForumNotifier
from bot.clock import ManualClock
from bot.contracts.outbound import DeliveryError, OutboundKind, OutboundMessage
from bot.contracts.reply import Reply
from tests.fakes.discourse import API_KEY, FakeDiscourse
from tests.helpers import utc

CLOCK = ManualClock(utc(2027, 3, 10, 12))


def message(kind: OutboundKind, target: str, text: str, title: str | None = None, **data: object) -> OutboundMessage:
    return OutboundMessage(id=1, key=f"k:{kind}:{target}", workspace_id="tvm", kind=kind, target=target,
                           reply=Reply(text=text, title=title, data=dict(data)))


async def test_a_topic_is_opened_once_and_then_edited(forum: FakeDiscourse, client: DiscourseClient) -> None:
    notifier = ForumNotifier(client, "meetings", CLOCK)
    ref = await notifier.send(message("forum_topic", "quorum-1-2027-03-17", "Agenda: none yet", "TVM, Wed"))
    topic = forum.topic_by_external_id("quorum-1-2027-03-17")
    assert topic is not None and ref == f"{topic.id}:{topic.posts[0].id}"
    assert topic.category_id == 7  # the slug resolved through /categories.json
    again = await notifier.send(message("forum_topic", "quorum-1-2027-03-17", "Agenda: 1. RFC", "TVM, Wed (final)"))
    assert again == ref and len(forum.topics) == 1
    assert topic.title == "TVM, Wed (final)" and topic.posts[0].raw == "Agenda: 1. RFC"
    before = len(forum.writes())
    await notifier.send(message("forum_topic", "quorum-1-2027-03-17", "Agenda: 1. RFC", "TVM, Wed (final)"))
    assert len(forum.writes()) == before  # nothing changed: no empty revision


async def test_a_duplicate_external_id_422_becomes_an_edit(forum: FakeDiscourse, client: DiscourseClient) -> None:
    # Another replica opened the topic between our lookup and our create: the forum refuses the second.
    notifier = ForumNotifier(client, None, CLOCK)
    await client.create_topic(title="First", raw="one", category=None, external_id="quorum-x")
    with pytest.raises(ForumRefused) as refused:
        await client.create_topic(title="Second", raw="two", category=None, external_id="quorum-x")
    assert refused.value.status == 422
    original = client.topic_by_external_id
    calls = 0

    async def lookup_misses_once(external_id: str) -> dict[str, object] | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await original(external_id)

    client.topic_by_external_id = lookup_misses_once  # type: ignore[method-assign]
    await notifier.send(message("forum_topic", "quorum-x", "two", "Second"))
    assert len(forum.topics) == 1 and next(iter(forum.topics.values())).posts[0].raw == "two"


async def test_a_reply_is_made_once_and_edited_by_its_marker(forum: FakeDiscourse, client: DiscourseClient) -> None:
    notifier = ForumNotifier(client, None, CLOCK)
    await notifier.send(message("forum_topic", "quorum-m", "body", "Meeting"))
    first = await notifier.send(message("forum_post", "ext:quorum-m", "Minutes v1", marker="minutes:1"))
    second = await notifier.send(message("forum_post", "ext:quorum-m", "Minutes v2", marker="minutes:1"))
    topic = forum.topic_by_external_id("quorum-m")
    assert topic is not None and first == second and len(topic.posts) == 2
    assert topic.posts[1].raw.startswith("Minutes v2") and "<!-- quorum:minutes:1 -->" in topic.posts[1].raw
    await notifier.send(message("forum_post", f"id:{topic.id}", "Another", marker="item:9"))
    assert len(topic.posts) == 3


async def test_faults_map_to_retries_and_refusals(forum: FakeDiscourse, client: DiscourseClient) -> None:
    notifier = ForumNotifier(client, None, CLOCK)
    forum.fail_next(429, retry_after="17")
    with pytest.raises(DeliveryError) as limited:
        await notifier.send(message("forum_topic", "quorum-r", "body", "T"))
    assert limited.value.transient and limited.value.retry_after == 17
    calls = len(forum.calls)
    with pytest.raises(DeliveryError) as waiting:  # everyone waits out the limit, without asking again
        await notifier.send(message("forum_topic", "quorum-other", "body", "T"))
    assert waiting.value.retry_after == 17 and len(forum.calls) == calls
    CLOCK.advance(timedelta(seconds=17))
    forum.fail_next(500)
    with pytest.raises(DeliveryError) as failed:
        await notifier.send(message("forum_topic", "quorum-r", "body", "T"))
    assert failed.value.transient
    with pytest.raises(DeliveryError) as early:  # the reply's topic is not opened yet: later
        await notifier.send(message("forum_post", "ext:quorum-r", "reply", marker="m"))
    assert early.value.transient
    with pytest.raises(DeliveryError) as gone:
        await notifier.send(message("forum_post", "id:999999", "reply", marker="m"))
    assert not gone.value.transient
    await notifier.send(message("forum_topic", "quorum-r", "body", "T"))
    assert len(forum.topics) == 1


async def test_a_wrong_key_is_final_and_the_key_never_shows(forum: FakeDiscourse) -> None:
    bad = DiscourseClient(forum.url, "quorum-bot", "wrong-key")
    try:
        with pytest.raises(ForumRefused) as refused:
            await ForumNotifier(bad, None, CLOCK).send(message("forum_topic", "quorum-k", "body", "T"))
    finally:
        await bad.close()
    assert not refused.value.transient and refused.value.status == 403
    assert "wrong-key" not in str(refused.value) and "wrong-key" not in repr(bad)
    assert API_KEY not in repr(DiscourseClient(forum.url, "u", API_KEY))


async def test_the_marker_is_found_past_the_first_page_of_posts(forum: FakeDiscourse, client: DiscourseClient) -> None:
    notifier = ForumNotifier(client, None, CLOCK)
    await notifier.send(message("forum_topic", "quorum-long", "body", "Busy"))
    topic = forum.topic_by_external_id("quorum-long")
    assert topic is not None
    await notifier.send(message("forum_post", "ext:quorum-long", "Minutes v1", marker="minutes:7"))
    for n in range(30):  # a lively thread: the bot's reply is now far from the last page
        forum._add_post(topic, "member", f"reply {n}", topic.created_at)
    await notifier.send(message("forum_post", "ext:quorum-long", "Minutes v2", marker="minutes:7"))
    mine = [p for p in topic.posts if p.username == "quorum-bot"]
    assert len(mine) == 2 and mine[1].raw.startswith("Minutes v2")
