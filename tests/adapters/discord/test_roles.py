"""Listing a role's holders for a vote's electorate: only with the members intent, which is what
makes Discord send the member list."""

from __future__ import annotations

from dataclasses import replace

from bot.adapters.discord.client import QuorumClient, intents
from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import DiscordConfig, Settings
from storage.db import Database
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import CHAIR_ROLE_ID, GUILD_ID, OTHER_ROLE_ID, guild_create, start_client

WORKSPACE = f"discord:{GUILD_ID}"


async def test_without_the_members_intent_no_listing_is_claimed(client: QuorumClient) -> None:
    assert not client.intents.members
    assert await client.holders(WORKSPACE, "PMC") is None


async def test_with_the_members_intent_the_mapped_role_is_listed(db: Database, clock: ManualClock, settings: Settings,
                                                                fake: FakeDiscord) -> None:
    configured = replace(settings, discord=DiscordConfig(members_intent=True))
    assert intents(configured).members and intents(configured).guilds
    client = await start_client(Dispatcher(build_services(db, clock, configured)), fake)
    try:
        await guild_create(client, members=((500000000000000001, "alice", (CHAIR_ROLE_ID,)),
                                            (500000000000000002, "bob", (OTHER_ROLE_ID,)),
                                            (500000000000000003, "dan", (CHAIR_ROLE_ID, OTHER_ROLE_ID))))
        # [roles.PMC] discord_role is the chair role's id (its Discord name is "Maintainers").
        assert await client.holders(WORKSPACE, "PMC") == {"discord:500000000000000001": "Alice",
                                                          "discord:500000000000000003": "Dan"}
        assert await client.holders(WORKSPACE, "Contributors") == {"discord:500000000000000002": "Bob",
                                                                   "discord:500000000000000003": "Dan"}
        assert await client.holders(WORKSPACE, "Nobody") == {}
        assert await client.holders("discord:1", "PMC") is None, "a guild the bot is not in"
    finally:
        await client.close()
