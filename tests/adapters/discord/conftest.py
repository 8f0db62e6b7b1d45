"""Fixtures: the fake Discord server, settings mapping a Discord role (by id) to the chair role, and
a client logged in against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import discord
import pytest
from aiohttp.test_utils import TestServer

from bot.adapters.discord.client import QuorumClient
from bot.commands.dispatcher import Dispatcher
from bot.config import DiscordConfig, RoleConfig, Settings
from tests.adapters.discord.fake_discord import FakeDiscord, build_app
from tests.adapters.discord.harness import CHAIR_ROLE_ID, guild_create, start_client


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        roles={"PMC": RoleConfig("PMC", members=("discord:500000000000000009",), discord_role=str(CHAIR_ROLE_ID))},
        chair_roles=("PMC",), binding_role="PMC", default_display_zones=("UTC",),
        discord=DiscordConfig(),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    state = FakeDiscord()
    server = TestServer(build_app(state), host="127.0.0.1")
    await server.start_server()
    state.url = str(server.make_url("")).rstrip("/")
    base = discord.http.Route.BASE
    yield state
    discord.http.Route.BASE = base
    await server.close()


@pytest.fixture
async def client(dispatcher: Dispatcher, fake: FakeDiscord) -> AsyncIterator[QuorumClient]:
    started = await start_client(dispatcher, fake)
    await guild_create(started)
    yield started
    await started.close()


@pytest.fixture
def default_gateway() -> Iterator[None]:
    """For tests that start an adapter: it points discord.py's gateway at the fake's."""
    saved = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
