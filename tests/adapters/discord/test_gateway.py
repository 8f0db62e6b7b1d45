"""`quorum run` with DISCORD_TOKEN and DISCORD_API_URL: the adapter finds the gateway through the
server's /gateway/bot, identifies with the guilds intent only, syncs the commands to the guild it is
in, and answers a slash command that arrives over the gateway."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import discord

from bot.adapters.discord.client import DiscordAdapter
from bot.app import build_app, build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Secrets, Settings
from storage.db import Database
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import GUILD_ID, command_data, guild_payload, interaction_payload
from tests.adapters.discord.test_commands import ALICE, SERIES


async def test_the_adapter_serves_a_guild_end_to_end(database_url: str, clock: ManualClock, settings: Settings,
                                                    fake: FakeDiscord, default_gateway: None) -> None:
    fake.guilds = [guild_payload()]
    configured = replace(settings, secrets=Secrets(discord_token="fake-token"),
                         discord_api_url=f"{fake.url}/api/v10", database_url=database_url)
    app = build_app(configured, clock)  # as quorum run builds it: Discord is on (its token is set)
    services, adapter = app.services, app.discord
    assert adapter is not None
    assert services.notifiers["discord"] is adapter.client.notifier
    await adapter.start()
    try:
        await asyncio.wait_for(adapter.client.wait_until_ready(), 10)
        identify = next(c for c in fake.calls if c.method == "WS")
        assert identify.body["intents"] == discord.Intents(guilds=True).value
        assert identify.body["shard"] is None, "unsharded unless configured: one connection holds every guild"
        await asyncio.wait_for(fake.wait_for("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands"), 10)

        data = command_data(("meeting", "series", "create"), SERIES)
        await fake.dispatch("INTERACTION_CREATE", interaction_payload(2, data, ALICE))
        calls = await asyncio.wait_for(fake.wait_for("POST", r"/interactions/\d+/[^/]+/callback"), 10)
        assert "Created series community" in calls[-1].body["data"]["content"]
        # The new series' meetings appear in the server's event list.
        events = await asyncio.wait_for(fake.wait_for("POST", rf"/guilds/{GUILD_ID}/scheduled-events", 4), 10)
        await adapter.client.events.wait_idle()
        assert len(events) == 4
    finally:
        await adapter.stop()
        await app.close()


async def test_an_api_url_without_a_gateway_leaves_discord_off(db: Database, clock: ManualClock, settings: Settings,
                                                               fake: FakeDiscord, default_gateway: None) -> None:
    fake.fail("GET", "/gateway/bot", 500, {"message": "down"})
    configured = replace(settings, secrets=Secrets(discord_token="fake-token"), discord_api_url=f"{fake.url}/api/v10")
    adapter = DiscordAdapter(Dispatcher(build_services(db, clock, configured)))
    await adapter.start()
    assert not adapter.client.is_ready()
    assert not fake.calls_to("GET", "/users/@me"), "no login was attempted"
    await adapter.stop()
