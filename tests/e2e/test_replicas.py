"""Three ``quorum run`` replicas on one PostgreSQL do a community's due work: a week of reminders, a meeting's
announcement, a vote that closes and the mirrored Discord events of a Discord server's series. Discord is split
by shard as an operator runs replicas (docs/operations.md "Discord shards"): three shards, each replica its own
(``DISCORD_SHARD_COUNT=3``, ``DISCORD_SHARD_IDS`` 0, 1 or 2), so the server, on shard 1, is held and synced by
one replica only. That replica is killed with SIGKILL in the middle of the server's sync (it holds the server's
lock, and Discord has just made an event it has not recorded yet) and of the deliveries. The two others cannot
sync a server they do not hold: they take over the deliveries (any replica sends any outbox row), while a new
process with the killed one's shard, config and token is started, as a supervisor (systemd ``Restart=always``,
Kubernetes, compose) would. It completes the server's events, adopting the orphaned one by its marker.

Every effect happens (0 lost), and none twice except at most the one message the killed replica had in flight
([outbox] concurrency = 1 makes that one: the bound is the concurrency): each meeting has one event (one
creation each), the vote one close; and no other shard's replica touched the server's events.

The same test runs unsharded too (each replica connects as the whole bot, the default): then every replica
holds the server, the event sync is taken in turn through a PostgreSQL advisory lock, and the two survivors
take the sync over from the killed replica (whose lock went with its connection), without a restart.

Everything is seeded in this process the way chairs and members make it (their commands, through the
dispatcher, before the replicas start), with instants relative to the real now, since the replicas run the
system clock; the replicas' own scheduler ticks plan, close and send it, three at once. Each replica has its
own bot token only so the fake Discord's records tell which one made a call."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler

from bot.app import build_app
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import RoleConfig, Settings
from bot.contracts.reply import Reply
from bot.rules.event_sync import marker
from storage.db import Database
from storage.queries import meetings as meetings_q
from storage.queries import outbox as outbox_q
from storage.queries import votes as votes_q
from tests.adapters.discord.fake_discord import FakeDiscord, shard_for
from tests.adapters.discord.fake_discord import build_app as fake_discord_app
from tests.adapters.discord.harness import GUILD_ID, guild_payload
from tests.adapters.slack.fake_slack import FakeSlack
from tests.conftest import _truncate_postgres
from tests.e2e.test_run import free_port
from tests.e2e.test_stop_and_kill import BOT_TOKEN, SIGNING_SECRET, START_LIMIT, TEAM, Replica

SLACK = f"slack:{TEAM}"
DISCORD = f"discord:{GUILD_ID}"
CHAIR = "U0CHAIR1"
DISCORD_CHAIR = "discord:500000000000000009"
VOTERS = ("U0VOTER1", "U0VOTER2", "U0VOTER3")
AUTHORS = ("U0AUTHR1", "U0AUTHR2")
MEMBERS_PER_GROUP = 40
# A week of meetings, one series a day; each member is reminded of the meetings they subscribed to by
# their own offset, all due now: group A subscribes to days 1-4 at offsets 1d-4d, group B to days 5-7.
GROUPS = {"A": (1, 2, 3, 4), "B": (5, 6, 7)}
TEAM_CHANNEL = "C0TEAM01"
RELEASE_CHANNEL = "C0RELEAS"
VOTE_CHANNEL = "C0VOTES1"
VOTE_CLOSES_IN = timedelta(seconds=6)  # after seeding: the replicas are up and sending by then
VOTE_TITLE = "Adopt the release checklist"
DISCORD_SERIES = ("dev-sync", "office-hours")
KILL_AFTER = 100  # messages seen by Slack before the replica in the middle of the Discord sync is killed
DRAIN_LIMIT = 90.0  # seconds the test waits for the replicas to finish (a limit, not a sleep)
SHARDS = 3  # one per replica
SERVER_SHARD = shard_for(GUILD_ID, SHARDS)  # the harness's guild 800000000000000001: (id >> 22) % 3 == 1
EVENTS_PATH = rf"/guilds/{GUILD_ID}/scheduled-events(/\d+)?"


def token(shard: int) -> str:
    return f"fake-token-shard-{shard}"


@dataclass
class Seeded:
    """What the chairs' and members' commands set up, and the effects they must lead to."""

    # Slack messages: (channel, a text that tells the message apart) -> how many times it must arrive.
    messages: Counter[tuple[str, str]] = field(default_factory=Counter)
    vote_id: int = 0
    # The markers (bot/rules/event_sync.py) of the Discord series' meetings in the mirror's horizon.
    events: set[str] = field(default_factory=set)


def member(user: str) -> str:
    return f"slack:{TEAM}:{user}"


def dm_channel(user: str) -> str:
    return "D" + user[1:]  # what the fake Slack's conversations.open answers


def group_members(group: str) -> list[str]:
    return [f"U0{group}{n:05d}" for n in range(MEMBERS_PER_GROUP)]


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(TEAM)
    await fake.start()
    yield fake
    await fake.close()


class HeldCreation:
    """The first scheduled event a replica creates: Discord makes it, and its answer is held until the test
    lets it go. The replica that asked is killed meanwhile, so it never records the event's link: the crash
    between "the platform accepted it" and "we recorded it" (the event must be adopted, not made twice), in
    the middle of a sync that holds the server's lock."""

    def __init__(self) -> None:
        self.made = asyncio.Event()
        self.release = asyncio.Event()
        self.token: str | None = None  # which replica asked (each has its own DISCORD_TOKEN)
        self.event_id = ""  # the event Discord made

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if request.method == "POST" and request.path.endswith("/scheduled-events") and not self.made.is_set():
            self.token = request.headers.get("Authorization", "").removeprefix("Bot ")
            assert isinstance(response, web.Response) and isinstance(response.body, bytes)
            self.event_id = json.loads(response.body)["id"]
            self.made.set()
            await self.release.wait()
        return response


@pytest.fixture
async def fake_discord() -> AsyncIterator[tuple[FakeDiscord, HeldCreation]]:
    fake, held = FakeDiscord(), HeldCreation()
    fake.guilds = [guild_payload()]
    app = fake_discord_app(fake)
    app.middlewares.append(held.middleware)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake, held
    held.release.set()
    await server.close()


@pytest.fixture
def postgres(postgres_migrated: str | None) -> str:
    if postgres_migrated is None:
        pytest.skip("PostgreSQL is not reachable (set QUORUM_TEST_POSTGRES_URL); CI runs these")
    asyncio.run(_truncate_postgres(postgres_migrated))
    return postgres_migrated


class Community:
    """Chairs and members typing commands, at the instants the test chooses."""

    def __init__(self, url: str, clock: ManualClock) -> None:
        self.settings = Settings(database_url=url, roles={"PMC": RoleConfig(
            "PMC", members=(member(CHAIR), *(member(v) for v in VOTERS), DISCORD_CHAIR))})
        self.clock = clock
        self.app = build_app(self.settings, clock, platforms=())
        self.dispatcher: Dispatcher = self.app.dispatcher

    async def run(self, workspace: str, member_id: str, text: str, channel: str | None = None) -> Reply:
        actor = make_actor(self.settings, workspace_id=workspace, platform=workspace.split(":")[0],
                           member_id=member_id, display_name=member_id.rsplit(":", 1)[-1], channel_id=channel)
        reply = await self.dispatcher.run_text(text, actor)
        assert reply.ok, f"{text!r} failed: {reply.text}"
        return reply


def series_command(slug: str, name: str, starts: datetime, channel: str | None) -> str:
    """A chair's /meeting series create for a weekly series in UTC whose first meeting is ``starts``; its
    agenda closes 2 h before each meeting."""
    weekday = f"{starts:%a}".lower()
    return (f'/meeting series create slug={slug} name="{name}" weekday={weekday} time={starts:%H:%M} tz=UTC '
            f"start={starts:%Y-%m-%d} deadline=2h" + (f" channel={channel}" if channel else ""))


async def seed(url: str) -> Seeded:
    now = datetime.now(UTC)
    base = now.replace(second=0, microsecond=0)  # a minute boundary at or before now: due "now"
    clock = ManualClock(now)
    community = Community(url, clock)
    seeded = Seeded()
    try:
        # A week of meetings (series day-1 ... day-7 meet 1 ... 7 days from now); members subscribe with their
        # own offsets, so each is reminded of each of their meetings now.
        for day in range(1, 8):
            await community.run(SLACK, member(CHAIR), series_command(
                f"day-{day}", f"Day {day} sync", base + timedelta(days=day), TEAM_CHANNEL))
        for group, days in GROUPS.items():
            offsets = ",".join(f"{day}d" for day in days)
            for user in group_members(group):
                await community.run(SLACK, member(user), f"/me reminders {offsets}")
                for day in days:
                    await community.run(SLACK, member(user), f"/meeting subscribe day-{day}")
                    seeded.messages[(dm_channel(user), f"(day-{day})")] += 1

        # An announcement: the release meeting starts in an hour; its agenda (two items, added before it
        # closed) closed an hour ago. The authors are reminded an hour before the meeting: now.
        clock.set(base - timedelta(minutes=90))
        await community.run(SLACK, member(CHAIR), series_command(
            "release", "Release review", base + timedelta(hours=1), RELEASE_CHANNEL))
        for n, author in enumerate(AUTHORS):
            await community.run(SLACK, member(author), f'/agenda add "Release item {n}" '
                                f"https://github.com/apache/tvm/issues/{n + 1} series=release")
            seeded.messages[(dm_channel(author), "(release)")] += 1
        seeded.messages[(RELEASE_CHANNEL, "Release item 0")] += 1  # the announcement lists the agenda

        # A vote opened ten minutes ago that closes a few seconds after the replicas start.
        clock.set(datetime.now(UTC) + VOTE_CLOSES_IN - timedelta(minutes=10))
        opened = await community.run(SLACK, member(CHAIR), f'/vote open "{VOTE_TITLE}" duration=10m force=yes',
                                     channel=VOTE_CHANNEL)
        vote = opened.data["vote"]
        seeded.vote_id = int(vote["id"])
        for voter in VOTERS:
            await community.run(SLACK, member(voter), f"/vote cast #{vote['number']} +1", channel=VOTE_CHANNEL)
        seeded.messages[(VOTE_CHANNEL, VOTE_TITLE)] += 1  # its result

        # A Discord server's series: each of their meetings in the next four weeks becomes a scheduled event.
        clock.set(now)
        for n, slug in enumerate(DISCORD_SERIES):
            first = base + timedelta(days=2 + n, hours=3)
            await community.run(DISCORD, DISCORD_CHAIR, series_command(slug, slug.title(), first, None))
            async with community.app.db.read() as session:
                row = await meetings_q.series_by_slug(session, DISCORD, slug)
            assert row is not None and row.id is not None
            seeded.events |= {marker(row.id, f"{first + timedelta(weeks=w):%Y-%m-%d}") for w in range(4)}
    finally:
        await community.app.close()
    return seeded


async def due_backlog(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return (await outbox_q.due_backlog(session, datetime.now(UTC)))[0]
    finally:
        await db.dispose()


def delivered(fake: FakeSlack) -> Counter[tuple[str, str]]:
    return Counter((str(call.params.get("channel")), str(call.params.get("text", "")))
                   for call in fake.of("chat.postMessage"))


def arrived(sent: Counter[tuple[str, str]], expected: tuple[str, str]) -> int:
    channel, mark = expected
    return sum(count for (to, text), count in sent.items() if to == channel and mark in text)


def mirrored(fake: FakeDiscord) -> Counter[str]:
    """How many scheduled events the server has for each meeting (by the marker in its description)."""
    return Counter(found.group(0) for event in fake.events.values()
                   if (found := re.search(r"quorum-meeting:\S+", event.get("description") or "")))


def replica_config(tmp_path: Path, name: str) -> Path:
    config = tmp_path / f"{name}.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {free_port()}\n\n[scheduler]\ntick_seconds = 1\n\n'
                      "[outbox]\nconcurrency = 1\nlease_seconds = 5\n", encoding="utf-8")
    return config


def test_the_server_is_on_the_shard_the_test_says() -> None:
    assert SERVER_SHARD == 1


@pytest.mark.parametrize("sharded", [True, False], ids=["one-shard-each", "unsharded"])
async def test_three_replicas_one_killed_do_every_effect_once(
        quorum_env: dict[str, str], tmp_path: Path, postgres: str, fake_slack: FakeSlack,
        fake_discord: tuple[FakeDiscord, HeldCreation], sharded: bool) -> None:
    """Sharded, the server's replica is killed and started again (only its shard may sync the server).
    Unsharded, every replica holds the server; the one syncing it is killed, and the others take the sync
    over once its lock went with its connection, without a restart."""
    discord, held = fake_discord
    seeded = await seed(postgres)
    total = sum(seeded.messages.values())
    env = {**quorum_env, "QUORUM_DATABASE_URL": postgres, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url("/api/"),
           "DISCORD_API_URL": f"{discord.url}/api/v10"}
    # Each replica its own shard (in its environment, as docs/operations.md says), config (its web port) and
    # token; the shard's own is kept to start it again.
    sharding = {"DISCORD_SHARD_COUNT": str(SHARDS)} if sharded else {}
    setups = {shard: ({**env, **sharding, "DISCORD_TOKEN": token(shard),
                       **({"DISCORD_SHARD_IDS": str(shard)} if sharded else {})},
                      replica_config(tmp_path, f"shard-{shard}"))
              for shard in range(SHARDS)}
    replicas = {shard: Replica(shard_env, config, tmp_path) for shard, (shard_env, config) in setups.items()}
    restarted: Replica | None = None

    def running() -> None:
        assert all(r.process.poll() is None for r in replicas.values()), \
            "\n".join(r.log() for r in replicas.values())

    def every_effect() -> bool:
        sent = delivered(fake_slack)
        return all(arrived(sent, key) >= 1 for key in seeded.messages) and set(mirrored(discord)) >= seeded.events

    # Slack holds the first messages until the server's replica is in the middle of its sync, so that the
    # replica killed below is in the middle of both.
    slack_open = fake_slack.hold("chat.postMessage")
    try:
        async with asyncio.timeout(START_LIMIT):
            while not held.made.is_set():
                running()
                await asyncio.sleep(0.05)  # polling the fakes until the replicas are up
            if sharded:
                assert held.token == token(SERVER_SHARD), "only the server's shard syncs its events"
            slack_open.set()
            while len(fake_slack.of("chat.postMessage")) < KILL_AFTER:
                running()
                await asyncio.sleep(0.05)  # polling what the replicas sent
        killed = next(n for n in replicas if token(n) == held.token)
        syncing = replicas[killed]
        syncing.process.send_signal(signal.SIGKILL)
        assert await syncing.stopped(10) == -signal.SIGKILL
        killed_at = len(discord.calls)
        held.release.set()
        if sharded:
            # The supervisor starts the shard's process again: same environment (shard, token) and config.
            restarted = Replica(*setups[killed], tmp_path)
        survivors = [r for r in replicas.values() if r is not syncing]
        working = [*survivors, *([restarted] if restarted else [])]
        async with asyncio.timeout(DRAIN_LIMIT):
            # The killed replica's claims come back after their lease, and its server lock at once: nothing due
            # may stay pending; the survivors deliver, and the restarted replica finishes the sync (the event the
            # killed one made is adopted, not made again).
            while not every_effect() or await due_backlog(postgres):
                for replica in working:
                    assert replica.process.poll() is None, replica.log()
                await asyncio.sleep(0.2)  # polling the fakes and the database while the replicas work
        for replica in working:
            replica.process.send_signal(signal.SIGTERM)
            assert await replica.stopped(10) == 0, replica.log()
    finally:
        slack_open.set()
        held.release.set()
        for replica in (*replicas.values(), *([restarted] if restarted else [])):
            replica.kill()

    sent, events = delivered(fake_slack), mirrored(discord)
    # Shown by pytest when the test fails (and with -rA): what arrived, how often, and the events.
    print(f"delivered {sum(sent.values())} of {total} messages ({sum(sent.values()) - total} repeated); "
          f"{len(events)} of {len(seeded.events)} events, made by "
          f"{len(discord.calls_to('POST', rf'/guilds/{GUILD_ID}/scheduled-events'))} creations")
    lost = [key for key in seeded.messages if arrived(sent, key) == 0]
    assert lost == [], f"{len(lost)} of {total} message(s) never arrived: {lost[:5]}"
    assert sum(sent.values()) - total <= 1, f"sent more than once: { {k: n for k, n in sent.items() if n > 1} }"
    assert set(events) == seeded.events, "every meeting in the horizon is mirrored, and nothing else"
    assert all(count == 1 for count in events.values()), f"events created twice: {events}"
    assert len(discord.calls_to("POST", rf"/guilds/{GUILD_ID}/scheduled-events")) == len(seeded.events)

    on_events = [(i, call) for i, call in enumerate(discord.calls) if re.fullmatch(EVENTS_PATH, call.path)]
    if sharded:
        # The shard split held: each replica identified as its own shard (the restarted one as the killed
        # one's), and only the server's shard touched its events: before the kill the killed replica, then
        # nobody until the restarted replica identified, then it alone.
        identified = [(i, call.token, call.body["shard"]) for i, call in enumerate(discord.calls)
                      if call.method == "WS"]
        assert Counter((t, tuple(s)) for _, t, s in identified) == Counter(
            {(token(n), (n, SHARDS)): 1 + (n == SERVER_SHARD) for n in range(SHARDS)}), identified
        back = next(i for i, t, _ in identified if i >= killed_at)
        assert {call.token for _, call in on_events} == {token(SERVER_SHARD)}, "another shard's replica touched them"
        assert [i for i, _ in on_events if killed_at <= i < back] == [], "events touched while their shard was down"
    else:
        back = killed_at  # the survivors take over: nothing to wait for
        assert token(killed) not in {call.token for i, call in on_events if i >= back}, "a dead replica synced"
    # After the kill: the orphan adopted (PATCH) and the rest made, by whoever took the sync over.
    after = [call for i, call in on_events if i >= back]
    assert [c.path for c in after if c.method == "PATCH"] == [f"/guilds/{GUILD_ID}/scheduled-events/{held.event_id}"]
    assert sum(c.method == "POST" for c in after) == len(seeded.events) - 1

    db = Database(postgres)
    try:
        async with db.read() as session:
            statuses = Counter(row.status for row in await outbox_q.all_messages(session))
            log = await votes_q.event_page(session, seeded.vote_id, 0, 100)
    finally:
        await db.dispose()
    assert statuses == {"sent": total}, statuses  # each planned once, by three replicas planning at once
    (result,) = {text for (to, text) in sent if to == VOTE_CHANNEL}
    assert "at its deadline" in result, result  # a replica's tick closed it, as of its deadline
    assert [event[2] for event in log].count("close") == 1, log
    verify = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "verify", env=env, cwd=tmp_path,
                                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(verify.communicate(), 60)
    assert verify.returncode == 0, err.decode()
    assert out.decode().startswith("ok: 1 votes and 5 events match their hash chains"), out.decode()
