"""The Discord client: minimum intents, the generated command tree synced per guild, persistent
action buttons, scheduled-event mirroring and the notifier. ``DiscordAdapter`` is what bot/app.py builds,
connects to the services and starts.

With ``[discord] shard_count`` set the client is discord.py's ``AutoShardedClient`` connecting this
replica's shards only (``shard_ids``): its cache then holds only those shards' guilds, so the per-guild
work driven by the cache (command sync on ready, the scheduled-event sync) stays with the replica that
holds the guild, while REST work (outbox deliveries) runs on any replica."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.adapters.discord.buttons import ActionButton
from bot.adapters.discord.events import EventSync
from bot.adapters.discord.interactions import Interactions
from bot.adapters.discord.notifier import DiscordNotifier
from bot.adapters.discord.render import snowflake_of
from bot.adapters.discord.tree import build_tree_commands
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings

log = logging.getLogger("quorum.discord")

DISCORD_API = "https://discord.com/api/v10"
# Longest rate-limit wait discord.py sits out inside a send; longer ones go back to the outbox.
MAX_RATELIMIT_WAIT = 30.0
# Names asked of Discord one by one when a vote opens (config-listed members never seen): a bound, so a
# long config list costs a few seconds at most, not a rate-limited minute.
MAX_NAME_LOOKUPS = 50
# How long a stop waits for the gateway connection to end after close() before cancelling it.
CLOSE_WAIT = 2.0


def intents(settings: Settings) -> discord.Intents:
    """Guilds only (channels, roles, and each interaction's member with their roles). The privileged
    members intent only when role listings are wanted for vote electorates (docs/discord.md)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.members = settings.discord.members_intent
    return chosen


def invite_permissions() -> discord.Permissions:
    return discord.Permissions(view_channel=True, send_messages=True, send_messages_in_threads=True,
                               embed_links=True, read_message_history=True, manage_events=True,
                               create_events=True)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=invite_permissions(),
                                   scopes=("bot", "applications.commands"))


def use_api_base(api_url: str | None) -> None:
    """Point every REST call of discord.py at ``api_url`` (Discord's own when None)."""
    discord.http.Route.BASE = (api_url or DISCORD_API).rstrip("/")


class QuorumClient(discord.Client):
    def __init__(self, dispatcher: Dispatcher, **options: Any) -> None:
        settings = dispatcher.services.settings
        super().__init__(intents=intents(settings), max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
                         allowed_mentions=discord.AllowedMentions.none(), **options)
        self.settings = settings
        self.dispatcher = dispatcher
        self.tree: app_commands.CommandTree[QuorumClient] = app_commands.CommandTree(self)
        self.quorum = Interactions(dispatcher, self)
        self.events = EventSync(dispatcher.services, self)
        self.notifier = DiscordNotifier(self)
        for command in build_tree_commands(dispatcher.registry, self.quorum.run_command, self.quorum.suggest):
            self.tree.add_command(command)
        self._synced: set[int] = set()

    async def setup_hook(self) -> None:
        # Buttons of messages posted before a restart are routed by their custom ids.
        self.add_dynamic_items(ActionButton)
        if self.settings.discord.sync_global:
            await self.tree.sync()

    async def sync_commands(self, guild_id: int) -> None:
        """Publish the command tree to one guild (guild commands update at once; global ones can
        take an hour)."""
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)
        self._synced.add(guild_id)

    def serves(self, guild_id: int) -> bool:
        configured = self.settings.discord.guild_ids
        return not configured or guild_id in configured

    async def on_ready(self) -> None:
        log.info("Discord: connected as %s to %d guild(s)", self.user, len(self.guilds))
        for guild in self.guilds:
            await self._welcome(guild)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._welcome(guild)

    async def _welcome(self, guild: discord.Guild) -> None:
        if not self.serves(guild.id):
            log.warning("Discord: guild %s is not in [discord] guild_ids; its commands are not synced", guild.id)
            return
        try:
            if guild.id not in self._synced and not self.settings.discord.sync_global:
                await self.sync_commands(guild.id)
            await self.events.sync_guild(guild)
        except discord.HTTPException:
            log.exception("Discord: setting up guild %s failed; it is retried on the next start", guild.id)

    async def on_app_command_error(self, interaction: discord.Interaction, error: Exception) -> None:
        log.error("Discord command failed: %s", error)

    def connection_problems(self) -> list[str]:
        """For /health/ready: what is not connected, one sentence each; empty when all is."""
        if self.is_ready() and not self.is_closed():
            return []
        return ["Discord is not connected (see the log for why)"]

    # -- role listing (electorate snapshots) ------------------------------------------------
    async def holders(self, workspace_id: str, role: str) -> dict[str, str] | None:
        """Everyone holding a configured role in the guild; None without the members intent (the
        member cache would be empty, so a listing would be wrong rather than short)."""
        if not self.intents.members:
            return None
        guild_id = snowflake_of(workspace_id)
        guild = self.get_guild(guild_id) if guild_id is not None else None
        if guild is None:
            return None
        if not guild.chunked:
            await guild.chunk()
        config = self.settings.roles.get(role)
        wanted = config.discord_role if config and config.discord_role else role
        found = next((r for r in guild.roles if str(r.id) == wanted or r.name == wanted), None)
        if found is None:
            return {}
        return {f"discord:{m.id}": m.display_name for m in found.members if not m.bot}

    async def names(self, workspace_id: str, member_ids: Sequence[str]) -> dict[str, str]:
        """Guild members by id, from the cache or one REST call each (which needs no privileged
        intent); a member who left the guild, or an id that is not a Discord member, is left out."""
        guild_id = snowflake_of(workspace_id)
        guild = self.get_guild(guild_id) if guild_id is not None else None
        if guild is None:
            return {}
        found: dict[str, str] = {}
        for member in member_ids[:MAX_NAME_LOOKUPS]:
            user_id = snowflake_of(member)
            if user_id is None:
                continue
            known = guild.get_member(user_id)
            if known is None:
                try:
                    known = await guild.fetch_member(user_id)
                except discord.HTTPException as exc:  # not in the guild (10007), or Discord refused
                    log.info("no name for %s from Discord (%s)", member, exc.code)
                    continue
            found[member] = known.display_name
        return found


class ShardedQuorumClient(QuorumClient, discord.AutoShardedClient):
    """``QuorumClient`` on discord.py's documented sharding: one gateway connection per shard of this
    replica (``[discord] shard_ids``, default all of ``shard_count``). Discord sends each shard only the
    guilds with ``(guild_id >> 22) % shard_count == shard_id``, and only their interactions."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        config = dispatcher.services.settings.discord
        assert config.shard_count is not None, "a sharded client needs [discord] shard_count"
        super().__init__(dispatcher, shard_count=config.shard_count, shard_ids=list(config.own_shards))
        self.own_shards = config.own_shards
        # Shards whose guilds have all arrived at least once (a RESUME keeps a shard's guilds, so a shard
        # stays here across reconnects; whether its socket is open is asked of discord.py each time).
        self._loaded: set[int] = set()

    async def on_shard_ready(self, shard_id: int) -> None:
        self._loaded.add(shard_id)
        log.info("Discord: shard %d of %s ready with %d guild(s)", shard_id, self.shard_count,
                 sum(1 for guild in self.guilds if guild.shard_id == shard_id))

    def shards_down(self) -> list[int]:
        """This replica's shards that are not connected with their guilds loaded."""
        down = []
        for shard_id in self.own_shards:
            shard = self.get_shard(shard_id)
            if shard_id not in self._loaded or shard is None or shard.is_closed():
                down.append(shard_id)
        return down

    def connection_problems(self) -> list[str]:
        return [f"Discord shard {shard_id} (of {self.shard_count}) is not connected; its guilds wait until it "
                "is back (see the log for why)" for shard_id in self.shards_down()]


def build_client(dispatcher: Dispatcher) -> QuorumClient:
    """Sharded only when the config says so: unsharded, one connection holds every guild, as Discord
    allows up to 2,500 guilds per connection."""
    if dispatcher.services.settings.discord.sharded:
        return ShardedQuorumClient(dispatcher)
    return QuorumClient(dispatcher)


async def gateway_from(api_url: str, token: str) -> yarl.URL:
    """The gateway a Discord-compatible server names in ``/gateway/bot`` (discord.py would otherwise
    connect to Discord's own gateway whatever the REST base)."""
    async with aiohttp.ClientSession() as session, session.get(
        f"{api_url.rstrip('/')}/gateway/bot", headers={"Authorization": f"Bot {token}"}
    ) as response:
        response.raise_for_status()
        data = await response.json()
    return yarl.URL(str(data["url"]))


class DiscordAdapter:
    """Runs the client in the background. What the services need from it (``notifier``, ``directory``,
    ``series_changed``) bot/app.py hands to them; the adapter registers nothing itself."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.settings = dispatcher.services.settings
        self.client = build_client(dispatcher)
        self._task: asyncio.Task[None] | None = None

    @property
    def notifier(self) -> DiscordNotifier:
        return self.client.notifier

    @property
    def directory(self) -> QuorumClient:
        """The role listing for vote electorates (``holders`` and ``names``)."""
        return self.client

    def series_changed(self, series_id: int) -> None:
        """A series was created, changed or removed: its scheduled events follow (in the background)."""
        self.client.events.series_changed(series_id)

    def problems(self) -> list[str]:
        """For /health/ready: each of this replica's connections (its shards, when sharded) that is not
        logged in to the gateway with its guilds loaded, in one sentence; empty when all are."""
        return self.client.connection_problems()

    async def start(self) -> None:
        token = self.settings.secrets.discord_token
        assert token, "DISCORD_TOKEN is not set"
        use_api_base(self.settings.discord_api_url)
        if self.settings.discord_api_url:
            try:
                gateway = await gateway_from(self.settings.discord_api_url, token)
            except (aiohttp.ClientError, KeyError, ValueError) as exc:
                # The rest of Quorum (web, scheduler, other platforms) keeps running.
                log.error("Discord: %s/gateway/bot did not name a gateway (%s); Discord stays off. Check "
                          "DISCORD_API_URL.", self.settings.discord_api_url.rstrip("/"), type(exc).__name__)
                return
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
        # Log in here, then connect in the background (together what Client.start does): a refused token
        # is reported at once, and stop() knows whether there is anything to close (discord.py's sharded
        # client cannot be closed before a login has begun).
        try:
            await self.client.login(token)
        except discord.LoginFailure:
            log.error("Discord: the token was refused; check DISCORD_TOKEN (docs/discord.md)")
            await self.client.close()
            return
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.error("Discord: logging in failed (%s); Discord stays off until Quorum restarts",
                      type(exc).__name__)
            await self.client.close()
            return
        except asyncio.CancelledError:  # a stop while logging in
            await self.client.close()
            raise
        self._task = asyncio.get_running_loop().create_task(self._run(), name="quorum-discord")

    async def _run(self) -> None:
        try:
            await self.client.connect()
        except discord.PrivilegedIntentsRequired:
            log.error("Discord: the members intent is on in the config but not in the developer portal; "
                      "enable 'Server Members Intent' or set [discord] members_intent = false")

    async def tick(self) -> None:
        if self.client.is_ready():
            await self.client.events.tick()

    async def stop(self) -> None:
        if self._task is None:
            return  # never logged in, or already closed after a failed login: nothing is open
        await self.client.close()
        # A sharded client still launching its shards (or waiting out a gateway outage) retries each shard
        # every few seconds without looking at close(): its connect task is ended here, not waited for.
        done, _ = await asyncio.wait({self._task}, timeout=CLOSE_WAIT)
        if not done:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
