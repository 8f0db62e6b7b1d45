"""Discord split across replicas by shard (issue 18): two `quorum run` apps on one database, one holding
shard 0 and the other shard 1 of 2, against one fake Discord whose gateway shards as Discord documents.
Each replica identifies as its shard, holds only its shard's guild, syncs commands and scheduled events
only for it and answers its interactions; any replica delivers any guild's outbox messages (REST needs
no shard); ``/health/ready`` names a replica's shard that is down.

The replicas use different bot tokens only so the fake's records tell which replica made a call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.discord.client import DiscordAdapter, ShardedQuorumClient
from bot.app import App, build_app, build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import DiscordConfig, Secrets, Settings
from bot.contracts.outbound import DeliveryError, OutboundMessage
from bot.contracts.reply import Reply
from storage.db import Database
from tests.adapters.discord.fake_discord import FakeDiscord, shard_for
from tests.adapters.discord.harness import (
    CHANNEL_ID,
    GUILD_ID,
    command_data,
    direct_message_payload,
    guild_payload,
    interaction_payload,
)
from tests.adapters.discord.test_commands import ALICE, SERIES

# GUILD_ID (the harness's guild) is on shard 1 of 2; this one is on shard 0.
GUILD_0, CHANNEL_0 = 800000000004194305, 800000000004194306
GUILD_1, CHANNEL_1 = GUILD_ID, CHANNEL_ID
TOKENS = ("replica-0-token", "replica-1-token")
CALLBACK = r"/interactions/\d+/[^/]+/callback"


def test_the_guilds_are_on_the_shards_the_tests_say() -> None:
    assert shard_for(GUILD_0, 2) == 0 and shard_for(GUILD_1, 2) == 1


@pytest.fixture
async def replicas(database_url: str, clock: ManualClock, settings: Settings, fake: FakeDiscord,
                   default_gateway: None) -> AsyncIterator[tuple[App, App]]:
    fake.guilds = [guild_payload(guild_id=GUILD_0, channel_id=CHANNEL_0, name="Relax"), guild_payload()]
    fake.recommended_shards = 2
    apps = []
    for shard in (0, 1):
        configured = replace(settings, database_url=database_url, secrets=Secrets(discord_token=TOKENS[shard]),
                             discord_api_url=f"{fake.url}/api/v10", replica=f"replica-{shard}",
                             discord=DiscordConfig(shard_count=2, shard_ids=(shard,)))
        apps.append(build_app(configured, clock))  # as `quorum run` builds each replica
    try:
        for app in apps:
            assert app.discord is not None
            await app.discord.start()
        for app in apps:
            assert app.discord is not None
            await asyncio.wait_for(app.discord.client.wait_until_ready(), 10)
        yield apps[0], apps[1]
    finally:
        for app in apps:
            if app.discord is not None:
                await app.discord.stop()
            await app.close()


def _client(app: App) -> ShardedQuorumClient:
    assert app.discord is not None and isinstance(app.discord.client, ShardedQuorumClient)
    return app.discord.client


def _tokens(fake: FakeDiscord, method: str, pattern: str) -> list[str]:
    return [call.token for call in fake.calls_to(method, pattern)]


async def test_each_replica_holds_serves_and_syncs_only_its_shards_guild(
        replicas: tuple[App, App], fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    zero, one = _client(replicas[0]), _client(replicas[1])
    identifies = {call.token: call.body["shard"] for call in fake.calls_to("WS", "/gateway")}
    assert identifies == {TOKENS[0]: [0, 2], TOKENS[1]: [1, 2]}
    assert [g.id for g in zero.guilds] == [GUILD_0] and [g.id for g in one.guilds] == [GUILD_1]

    # Commands are published to each guild once, by the replica holding it (on its ready).
    for guild, token in ((GUILD_0, TOKENS[0]), (GUILD_1, TOKENS[1])):
        await asyncio.wait_for(fake.wait_for("PUT", rf"/applications/\d+/guilds/{guild}/commands"), 10)
        assert _tokens(fake, "PUT", rf"/applications/\d+/guilds/{guild}/commands") == [token]

    # A command typed in each guild reaches only that guild's shard, and its replica answers it.
    for guild, channel in ((GUILD_0, CHANNEL_0), (GUILD_1, CHANNEL_1)):
        data = command_data(("meeting", "series", "create"), SERIES, guild_id=guild)
        await fake.dispatch("INTERACTION_CREATE", interaction_payload(2, data, ALICE, guild_id=guild,
                                                                      channel_id=channel))
    assert fake.dispatched == [("INTERACTION_CREATE", TOKENS[0]), ("INTERACTION_CREATE", TOKENS[1])]
    answers = await asyncio.wait_for(fake.wait_for("POST", CALLBACK, 2), 10)
    assert all("Created series community" in call.body["data"]["content"] for call in answers)

    # A direct message arrives on shard 0. Replica 0 holds one guild, but the bot is in others it cannot
    # see: without [discord] guild_ids naming one, it asks for the command in the server's channel.
    dm = command_data(("meeting", "series", "list"), {}, in_guild=False)
    await fake.dispatch("INTERACTION_CREATE", direct_message_payload(2, dm, ALICE))
    assert fake.dispatched[-1] == ("INTERACTION_CREATE", TOKENS[0])
    answer = (await asyncio.wait_for(fake.wait_for("POST", CALLBACK, 3), 10))[-1]
    assert answer.body["data"]["content"].startswith("This direct message doesn't belong to one server")

    # Each new series' four meetings become events in its own guild, made by the replica holding it.
    for guild in (GUILD_0, GUILD_1):
        await asyncio.wait_for(fake.wait_for("POST", rf"/guilds/{guild}/scheduled-events", 4), 10)
    await zero.events.wait_idle()
    await one.events.wait_idle()
    # The periodic sync on both replicas (each goes over its own guilds) changes nothing.
    for app in replicas:
        assert app.discord is not None
        await app.discord.tick()
    assert _tokens(fake, "POST", rf"/guilds/{GUILD_0}/scheduled-events") == [TOKENS[0]] * 4
    assert _tokens(fake, "POST", rf"/guilds/{GUILD_1}/scheduled-events") == [TOKENS[1]] * 4
    touched = {(call.token, call.path.split("/")[2]) for call in fake.calls if call.path.startswith("/guilds/")}
    assert touched == {(TOKENS[0], str(GUILD_0)), (TOKENS[1], str(GUILD_1))}, "no replica reached for the other's guild"
    for guild, token in ((GUILD_0, TOKENS[0]), (GUILD_1, TOKENS[1])):
        assert _tokens(fake, "PUT", rf"/applications/\d+/guilds/{guild}/commands") == [token]
    ours = [r for r in caplog.records if r.name.startswith("quorum") and r.levelno >= logging.WARNING]
    assert not ours, [r.getMessage() for r in ours]


async def test_any_replica_delivers_to_a_guild_on_another_shard(replicas: tuple[App, App], fake: FakeDiscord) -> None:
    zero = replicas[0]
    assert _client(zero).get_guild(GUILD_1) is None, "shard 1's guild is not in replica 0's cache"
    reminder = Reply(text="Reminder: the meeting starts in 1 hour.")
    async with zero.db.write() as session:
        await zero.services.outbox.enqueue(session, key="shard:by-name", workspace_id=f"discord:{GUILD_1}",
                                           kind="channel", target="general", reply=reminder)
        await zero.services.outbox.enqueue(session, key="shard:dm", workspace_id=f"discord:{GUILD_1}",
                                           kind="dm", target="discord:500000000000000002", reply=reminder)
    report = await zero.services.outbox_dispatcher.dispatch_due()

    assert sorted(report.keys_sent) == ["shard:by-name", "shard:dm"] and report.failed == 0
    posts = fake.calls_to("POST", rf"/channels/{CHANNEL_1}/messages")
    assert [call.token for call in posts] == [TOKENS[0]]
    assert posts[0].body["content"].startswith("Reminder: the meeting starts in 1 hour.")
    # The channel's name was looked up over REST, the guild not being in this replica's cache.
    assert _tokens(fake, "GET", rf"/guilds/{GUILD_1}/channels") == [TOKENS[0]]
    assert _tokens(fake, "POST", r"/channels/500000000000000003/messages") == [TOKENS[0]]

    # A name the guild has no channel for fails for good, as it does where the guild is cached.
    assert zero.discord is not None
    missing = OutboundMessage(id=9, key="shard:missing", workspace_id=f"discord:{GUILD_1}", kind="channel",
                              target="announcements", reply=reminder)
    with pytest.raises(DeliveryError) as raised:
        await zero.discord.notifier.send(missing)
    assert not raised.value.transient and "no channel 'announcements'" in str(raised.value)


# About the gateway, not the database: once (reconnecting waits out discord.py's backoff).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_ready_names_the_shard_that_is_down_until_it_is_back(replicas: tuple[App, App],
                                                                   fake: FakeDiscord) -> None:
    one = _client(replicas[1])
    async with TestClient(TestServer(replicas[0].web_app)) as zero_web, \
            TestClient(TestServer(replicas[1].web_app)) as one_web:
        assert (await one_web.get("/health/ready")).status == 200

        dropped = asyncio.ensure_future(one.wait_for("shard_disconnect", check=lambda shard: shard == 1, timeout=10))
        back = [asyncio.ensure_future(one.wait_for(event, check=lambda shard: shard == 1, timeout=60))
                for event in ("shard_ready", "shard_resumed")]
        fake.refusing = True  # Discord's gateway is out for this shard: it cannot reconnect yet
        await fake.close_shard(1)
        await dropped

        response = await one_web.get("/health/ready")
        assert response.status == 503
        assert (await response.json())["problems"] == [
            "Discord shard 1 (of 2) is not connected; its guilds wait until it is back (see the log for why)"]
        assert (await zero_web.get("/health/ready")).status == 200, "the other replica's shard is up"

        fake.refusing = False
        done, pending = await asyncio.wait(back, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        assert not next(iter(done)).exception()
        assert (await one_web.get("/health/ready")).status == 200
        assert [g.id for g in one.guilds] == [GUILD_1]


async def test_a_sharded_replica_whose_discord_stays_off_starts_and_stops(
        db: Database, clock: ManualClock, settings: Settings, fake: FakeDiscord, default_gateway: None) -> None:
    fake.fail("GET", "/gateway/bot", 500, {"message": "down"})
    configured = replace(settings, secrets=Secrets(discord_token=TOKENS[1]), discord_api_url=f"{fake.url}/api/v10",
                         discord=DiscordConfig(shard_count=2, shard_ids=(1,)))
    adapter = DiscordAdapter(Dispatcher(build_services(db, clock, configured)))
    await adapter.start()
    assert adapter.problems() == [
        "Discord shard 1 (of 2) is not connected; its guilds wait until it is back (see the log for why)"]
    await adapter.stop()


async def test_a_stop_while_the_gateway_refuses_every_shard_ends_at_once(
        db: Database, clock: ManualClock, settings: Settings, fake: FakeDiscord, default_gateway: None) -> None:
    """discord.py's shard launcher retries a shard every few seconds without looking at close(): the stop
    must not wait for it (the process has 10 s for everything)."""
    fake.refusing = True  # logged in over REST, but no shard can connect
    configured = replace(settings, secrets=Secrets(discord_token=TOKENS[0]), discord_api_url=f"{fake.url}/api/v10",
                         discord=DiscordConfig(shard_count=2, shard_ids=(0, 1)))
    adapter = DiscordAdapter(Dispatcher(build_services(db, clock, configured)))
    await adapter.start()
    assert fake.calls_to("GET", "/users/@me"), "logged in"
    async with asyncio.timeout(10):
        while not fake.refused:  # noqa: ASYNC110  (discord.py's launcher, running on its own)
            await asyncio.sleep(0.02)  # polling until its first attempt was refused: it then waits to retry
    async with asyncio.timeout(5):  # a limit: the launcher's retries would hold it for ever
        await adapter.stop()
    assert adapter.client.is_closed()


async def test_a_refused_token_is_reported_at_start(db: Database, clock: ManualClock, settings: Settings,
                                                    fake: FakeDiscord, default_gateway: None,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    fake.fail("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
    configured = replace(settings, secrets=Secrets(discord_token=TOKENS[0]), discord_api_url=f"{fake.url}/api/v10",
                         discord=DiscordConfig(shard_count=2, shard_ids=(0,)))
    adapter = DiscordAdapter(Dispatcher(build_services(db, clock, configured)))
    await adapter.start()
    assert "the token was refused; check DISCORD_TOKEN" in caplog.text
    assert adapter.client.is_closed() and not fake.calls_to("WS", "/gateway")
    await adapter.stop()
