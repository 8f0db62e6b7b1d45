"""Scheduled events mirroring meetings, and outbox delivery (DMs, closed DMs, channel posts, edits,
rate limits) against the fake Discord server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.adapters.discord.client import QuorumClient, gateway_from, invite_url
from bot.cli import main
from bot.clock import ManualClock
from bot.contracts.outbound import DeliveryError, DirectMessagesClosed, OutboundKind, OutboundMessage
from bot.contracts.reply import Reply
from bot.rules.event_sync import EventLink
from bot.services import Services
from storage.db import Database
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import CHANNEL_ID, GUILD_ID, settle, slash
from tests.adapters.discord.test_commands import ALICE, SERIES

EVENTS = rf"/guilds/{GUILD_ID}/scheduled-events"


async def test_meetings_become_scheduled_events_created_updated_and_cancelled(
        client: QuorumClient, fake: FakeDiscord, services: Services, clock: ManualClock) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    guild = client.get_guild(GUILD_ID)
    assert guild is not None
    await client.events.sync_guild(guild)
    created = fake.calls_to("POST", EVENTS)
    # 2022-03-02, 09, 16, 23 (the next 28 days), each an external event with a marker.
    assert [c.body["scheduled_start_time"][:16] for c in created] == [
        "2022-03-02T16:00", "2022-03-09T16:00", "2022-03-16T15:00", "2022-03-23T15:00"]
    assert created[0].body["name"] == "TVM Community Meeting"
    assert created[0].body["entity_type"] == 3 and created[0].body["privacy_level"] == 2
    assert created[0].body["scheduled_end_time"][:16] == "2022-03-02T17:00"

    # A restart (or a second sync) creates nothing new.
    await client.events.sync_guild(guild)
    assert len(fake.calls_to("POST", EVENTS)) == 4

    # Cancelling the meeting cancels its event, through the meeting service's change listener.
    services.meetings.on_series_changed(client.events.series_changed)
    await slash(client, ALICE, "meeting cancel", date="2022-03-09")
    await settle(client)

    cancelled = [c for c in fake.calls_to("PATCH", rf"{EVENTS}/\d+") if c.body.get("status") == 4]
    assert len(cancelled) == 1
    assert fake.events[cancelled[0].path.rsplit("/", 1)[1]]["scheduled_start_time"].startswith("2022-03-09T16:00")


    # Restoring it mirrors it again (a cancelled Discord event cannot come back: a new one is made).
    await slash(client, ALICE, "meeting restore", date="2022-03-09")
    await settle(client)
    assert len(fake.calls_to("POST", EVENTS)) == 5

    # A meeting whose time differs from its event (e.g. moved) has its event updated in place.
    _, links = await services.event_mirror.plan(f"discord:{GUILD_ID}")
    link = next(k for k in links if k.occurrence_key == "2022-03-16")
    await services.event_mirror.save(EventLink(link.series_id, link.occurrence_key, link.guild_id, link.event_id,
                                               link.name, datetime(2022, 3, 16, 9, tzinfo=UTC),
                                               datetime(2022, 3, 16, 10, tzinfo=UTC), "scheduled"))
    await client.events.sync_guild(guild)
    patch = fake.calls_to("PATCH", rf"{EVENTS}/{link.event_id}")[-1]
    assert patch.body["scheduled_start_time"].startswith("2022-03-16T15:00")
    assert len(fake.calls_to("POST", EVENTS)) == 5


async def test_an_event_created_before_a_crash_is_adopted_not_duplicated(
        client: QuorumClient, fake: FakeDiscord, services: Services) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    guild = client.get_guild(GUILD_ID)
    assert guild is not None
    await client.events.sync_guild(guild)
    # The process died after Discord made the event but before the link was stored.
    async with services.db.write() as session:
        from sqlalchemy import text

        await session.execute(text("DELETE FROM discordevent WHERE occurrence_key = '2022-03-02'"))
    await client.events.sync_guild(guild)
    assert len(fake.calls_to("POST", EVENTS)) == 4
    assert fake.calls_to("GET", EVENTS), "the guild's events were read to find the marker"
    _, links = await services.event_mirror.plan(f"discord:{GUILD_ID}")
    assert len({link.event_id for link in links}) == 4


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a lock held by another process
async def test_a_guild_another_replica_was_syncing_is_synced_on_the_next_tick(
        client: QuorumClient, fake: FakeDiscord, services: Services, database_url: str) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    other = Database(database_url)  # another replica, syncing the guild's events
    syncing, dies = asyncio.Event(), asyncio.Event()

    async def other_replica() -> None:
        async with other.exclusive(f"quorum:event-mirror:discord:{GUILD_ID}") as got:
            assert got
            syncing.set()
            await dies.wait()

    try:
        holder = asyncio.create_task(other_replica())
        await syncing.wait()
        await client.events.tick()  # the periodic sync: skipped, the other replica is at it
        assert not fake.calls_to("POST", EVENTS)
        dies.set()  # ... and it stops half-way (its lock goes with its connection)
        await holder
        await client.events.tick()  # the very next tick, not ten minutes later
        assert len(fake.calls_to("POST", EVENTS)) == 4
    finally:
        await other.dispose()


def outbound(kind: OutboundKind, target: str, text: str = "Reminder: the meeting starts in 1 hour.",
             fallback: str | None = None) -> OutboundMessage:
    return OutboundMessage(id=1, key="k1", workspace_id=f"discord:{GUILD_ID}", kind=kind, target=target,
                           reply=Reply(text=text, moments=(datetime(2022, 3, 2, 16, tzinfo=UTC),)),
                           fallback_channel=fallback)


async def test_direct_message_channel_post_and_edit(client: QuorumClient, fake: FakeDiscord) -> None:
    ref = await client.notifier.send(outbound("dm", "discord:500000000000000002"))
    assert fake.calls_to("POST", "/users/@me/channels")[-1].body == {"recipient_id": 500000000000000002}
    sent = fake.calls_to("POST", r"/channels/500000000000000003/messages")[-1].body
    assert "starts in 1 hour" in sent["content"] and "<t:1646236800:F>" in sent["content"]
    assert ref is not None and ref.startswith("500000000000000003:")

    posted = await client.notifier.send(outbound("channel", "general"))
    assert posted is not None and posted.startswith(f"{CHANNEL_ID}:")
    edited = await client.notifier.send(outbound("update", posted, text="Cancelled."))
    assert edited == posted
    channel_id, message_id = posted.split(":")
    edit = fake.calls_to("PATCH", rf"/channels/{channel_id}/messages/{message_id}")[-1].body
    assert edit["content"].startswith("Cancelled.")
    assert edit["components"] == [], "an edit without buttons takes the old ones away"


async def test_closed_direct_messages(client: QuorumClient, fake: FakeDiscord) -> None:
    closed = {"message": "Cannot send messages to this user", "code": 50007}
    fake.fail("POST", r"/channels/\d+/messages", 403, closed)
    with pytest.raises(DirectMessagesClosed):
        await client.notifier.send(outbound("dm", "discord:500000000000000002"))
    # With a fallback channel the member is mentioned there instead.
    fake.fail("POST", r"/channels/500000000000000003/messages", 403, closed)
    ref = await client.notifier.send(outbound("dm", "discord:500000000000000002", fallback=str(CHANNEL_ID)))
    assert ref is not None and ref.startswith(f"{CHANNEL_ID}:")
    body = fake.calls_to("POST", rf"/channels/{CHANNEL_ID}/messages")[-1].body
    assert body["content"].startswith("<@500000000000000002>")
    assert body["allowed_mentions"]["parse"] == ["users"], "the member is pinged; @everyone never"


async def test_rate_limits_are_waited_out_or_handed_back(client: QuorumClient, fake: FakeDiscord) -> None:
    limited = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    headers = {"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user",
               "X-RateLimit-Bucket": "b1", "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset-After": "0.05"}
    fake.fail("POST", rf"/channels/{CHANNEL_ID}/messages", 429, limited, headers)
    ref = await client.notifier.send(outbound("channel", str(CHANNEL_ID)))
    assert ref is not None
    assert len(fake.calls_to("POST", rf"/channels/{CHANNEL_ID}/messages")) == 2, "retried once, sent once"

    long_wait = {**limited, "retry_after": 600.0}
    fake.fail("POST", rf"/channels/{CHANNEL_ID}/messages", 429, long_wait,
              {**headers, "Retry-After": "600", "X-RateLimit-Reset-After": "600", "X-RateLimit-Bucket": "b2"})
    with pytest.raises(DeliveryError) as raised:
        await client.notifier.send(outbound("channel", str(CHANNEL_ID)))
    assert raised.value.transient and raised.value.retry_after == pytest.approx(600, abs=1)


async def test_unknown_channel_name_is_a_permanent_failure(client: QuorumClient) -> None:
    with pytest.raises(DeliveryError) as raised:
        await client.notifier.send(outbound("channel", "announcements"))
    assert not raised.value.transient and "announcements" in str(raised.value)


async def test_gateway_comes_from_the_servers_gateway_bot(fake: FakeDiscord) -> None:
    url = await gateway_from(f"{fake.url}/api/v10", "fake-token")
    assert str(url) == fake.url.replace("http://", "ws://") + "/gateway"


def test_invite_url_has_the_scopes_and_permissions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["discord", "invite-url", "--app-id", "123456789012345678"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == invite_url(123456789012345678)
    assert "client_id=123456789012345678" in printed
    assert "scope=bot+applications.commands" in printed
    permissions = int(printed.split("permissions=")[1].split("&")[0])
    for bit in (10, 11, 14, 16, 33, 38, 44):  # view, send, embed links, history, manage/create events, threads
        assert permissions & (1 << bit), bit


LONG_MINUTES = "\n".join(f"- Decision {i}: " + "x" * 90 for i in range(100))  # about 10,000 characters


def _described(bodies: list[dict]) -> str:
    return "\n".join(body["embeds"][0]["description"] for body in bodies)


async def test_a_post_longer_than_a_message_is_sent_whole_in_parts(client: QuorumClient, fake: FakeDiscord) -> None:
    ref = await client.notifier.send(outbound("channel", "general", text=LONG_MINUTES))
    posts = [c.body for c in fake.calls_to("POST", rf"/channels/{CHANNEL_ID}/messages")]
    assert len(posts) == 3, "10,000 characters need three embeds of at most 4,096"
    assert all(len(body["embeds"][0]["description"]) <= 4096 for body in posts)
    # Nothing is cut or lost, lines stay whole, and the local time closes the last part.
    assert _described(posts) == f"{LONG_MINUTES}\nYour local time: <t:1646236800:F>"
    assert all(line.startswith(("- Decision", "Your local")) for line in _described(posts).split("\n"))
    # The post is referred to by its first message (the fake numbers messages in the order sent).
    assert ref == f"{CHANNEL_ID}:{int(fake.snowflake()) - 3}"


async def test_a_long_direct_message_falls_back_whole_when_dms_are_closed(client: QuorumClient,
                                                                         fake: FakeDiscord) -> None:
    closed = {"message": "Cannot send messages to this user", "code": 50007}
    fake.fail("POST", r"/channels/500000000000000003/messages", 403, closed)
    await client.notifier.send(outbound("dm", "discord:500000000000000002", text=LONG_MINUTES,
                                        fallback=str(CHANNEL_ID)))
    posts = [c.body for c in fake.calls_to("POST", rf"/channels/{CHANNEL_ID}/messages")]
    assert len(posts) == 3
    assert posts[0]["content"].startswith("<@500000000000000002>")
    assert _described(posts).startswith("- Decision 0:") and "- Decision 99:" in _described(posts)
