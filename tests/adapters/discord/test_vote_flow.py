"""Votes through Discord end to end, with the real command registry and services: INTERACTION_CREATE
payloads into discord.py after GUILD_CREATE, REST answers from the fake server, the app built as
``quorum run`` builds it (``bot.app.build_app`` with Discord on), on SQLite and PostgreSQL.

The members: Alice and Dan hold the Discord role mapped to PMC (chairs and binding voters), Carol is
listed under ``[roles.PMC] members`` without the Discord role, Bob and Erin hold another role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from bot.adapters.discord.client import DiscordAdapter, QuorumClient, use_api_base
from bot.app import App, build_app
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from bot.services.votes import VoteView
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import (
    CHAIR_ROLE_ID,
    CHANNEL_ID,
    GUILD_ID,
    OTHER_ROLE_ID,
    click,
    guild_create,
    settle,
    slash,
    submit_modal,
)

ALICE = (500000000000000001, "alice", (CHAIR_ROLE_ID,))
BOB = (500000000000000002, "bob", (OTHER_ROLE_ID,))
DAN = (500000000000000003, "dan", (CHAIR_ROLE_ID, OTHER_ROLE_ID))
ERIN = (500000000000000005, "erin", (OTHER_ROLE_ID,))
CAROL = (500000000000000009, "carol", ())  # PMC through the config only
WORKSPACE = f"discord:{GUILD_ID}"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
CHANNEL_POSTS = rf"/channels/{CHANNEL_ID}/messages"
EVENTS = rf"/guilds/{GUILD_ID}/scheduled-events"
SERIES = dict(slug="community", name="TVM Community Meeting", weekday="wed", time="08:00", tz="America/Los_Angeles",
              zones="UTC,Europe/London,Asia/Shanghai", start="2022-03-02")
EPHEMERAL = 64
UPDATE_MESSAGE, MODAL = 7, 9


def member_id(who: tuple[int, str, tuple[int, ...]]) -> str:
    return f"discord:{who[0]}"


def dm_channel(who: tuple[int, str, tuple[int, ...]]) -> int:
    return who[0] + 1  # the fake's DM channel of a user


@dataclass
class Process:
    """One running ``quorum run``: the app (services, ticker) and its Discord adapter, logged in."""

    app: App
    adapter: DiscordAdapter

    @property
    def client(self) -> QuorumClient:
        return self.adapter.client

    @property
    def services(self) -> Services:
        return self.app.services

    async def tick(self) -> None:
        """One scheduler tick, as the running app does it (reminders, votes, the outbox)."""
        await self.app.ticker.tick()
        await settle(self.client)

    async def close(self) -> None:
        await self.client.close()
        await self.app.close()


async def start(settings: Settings, database_url: str, clock: ManualClock, fake: FakeDiscord) -> Process:
    app = build_app(replace(settings, database_url=database_url), clock, platforms={"discord"})
    adapter = app.discord
    assert adapter is not None
    use_api_base(f"{fake.url}/api/v10")
    await adapter.client.login("fake-token")
    await guild_create(adapter.client)
    return Process(app, adapter)


@pytest.fixture
async def bot(settings: Settings, database_url: str, clock: ManualClock,
              fake: FakeDiscord) -> AsyncIterator[Process]:
    process = await start(settings, database_url, clock, fake)
    yield process
    await process.close()


# -- reading what Discord was sent ------------------------------------------------------------
def answer(fake: FakeDiscord) -> dict[str, Any]:
    body: dict[str, Any] = fake.calls_to("POST", CALLBACK)[-1].body
    return body


def text_of(body: dict[str, Any]) -> str:
    """A message's text, whether sent as content or as an embed (titled replies are embeds)."""
    parts = [body.get("content") or ""]
    for embed in body.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(p for p in parts if p)


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in body.get("components") or [] for c in row["components"]]


def as_message(body: dict[str, Any], fake: FakeDiscord, channel_id: int = CHANNEL_ID) -> dict[str, Any]:
    """The message Discord made from a body we sent, as a click's payload carries it."""
    return fake.message(str(channel_id), body)


def last_followup(fake: FakeDiscord) -> dict[str, Any]:
    body: dict[str, Any] = fake.calls_to("POST", FOLLOWUP)[-1].body
    return body


async def open_vote(bot: Process, fake: FakeDiscord, **options: Any) -> tuple[int, dict[str, Any]]:
    await slash(bot.client, ALICE, "vote open", **options)
    data = answer(fake)["data"]
    found = re.search(r"Vote #(\d+):", text_of(data))
    assert found, text_of(data)
    return int(found.group(1)), as_message(data, fake)


async def status(bot: Process, vote_id: int) -> VoteView:
    return await bot.services.votes.status(WORKSPACE, vote_id)


async def seen(bot: Process, *who: tuple[int, str, tuple[int, ...]]) -> None:
    """Members use the bot once, so Discord has shown Quorum their roles (no members intent)."""
    for member in who:
        await slash(bot.client, member, "vote list")


# -- 1 and 2: opening, clicking, restarting ------------------------------------------------
async def test_open_then_clicks_count_as_the_clicker_and_refresh_the_message_also_after_a_restart(
        bot: Process, fake: FakeDiscord, settings: Settings, database_url: str, clock: ManualClock) -> None:
    await seen(bot, DAN)
    vote_id, message = await open_vote(bot, fake, title="Adopt the RFC process", rule="lazy-majority",
                                       duration="96h", link="https://discuss.tvm.apache.org/t/11")
    opened = answer(fake)
    assert opened["type"] == 4 and not opened["data"].get("flags", 0) & EPHEMERAL, "the vote is announced publicly"
    shown = text_of(opened["data"])
    assert f"[VOTE] Adopt the RFC process\nVote #{vote_id}: Adopt the RFC process" in shown
    assert "Rule: lazy-majority:" in shown
    assert "closes Sat 2022-03-05 12:00 UTC (UTC)" in shown, "96 hours from Tue 12:00"
    assert "<t:1646481600:F>" in shown, "and in each reader's own zone"
    # Carol never used Quorum, so her Discord name is unknown: her id stands in for it.
    assert "Electorate: 3 holders of PMC when it opened" in shown and "Alice, Dan, 500000000000000009." in shown
    assert custom_ids(opened["data"]) == [f"quorum:a:vote cast #{vote_id} +1", f"quorum:a:vote cast #{vote_id} 0",
                                          f"quorum:a:vote cast #{vote_id} -1"]
    view = await status(bot, vote_id)
    assert (view.rule, view.channel_id, view.opened_by) == ("lazy-majority", str(CHANNEL_ID), member_id(ALICE))
    assert view.closes_at - view.opened_at == timedelta(hours=96)

    await click(bot.client, DAN, message, f"quorum:a:vote cast #{vote_id} +1")
    update = answer(fake)
    assert update["type"] == UPDATE_MESSAGE, "the vote message itself is edited"
    assert "Binding so far: 1 +1, 0 0, 0 -1" in text_of(update["data"])
    assert "+1 Dan" in text_of(update["data"])
    assert custom_ids(update["data"]) == custom_ids(opened["data"]), "the buttons stay"
    confirmation = last_followup(fake)
    assert confirmation["flags"] & EPHEMERAL
    assert f'Recorded your +1 on #{vote_id} "Adopt the RFC process". It is binding' in confirmation["content"]

    await click(bot.client, BOB, message, f"quorum:a:vote cast #{vote_id} +1")
    assert "non-binding: 1 +1, 0 0, 0 -1" in text_of(answer(fake)["data"])
    assert "It is not binding" in last_followup(fake)["content"]
    await click(bot.client, ALICE, message, f"quorum:a:vote cast #{vote_id} -1")
    assert "Binding so far: 1 +1, 0 0, 1 -1" in text_of(answer(fake)["data"])

    view = await status(bot, vote_id)
    assert {(b.voter, b.voter_name, b.value, b.binding) for b in view.ballots} == {
        (member_id(DAN), "Dan", "+1", True), (member_id(BOB), "Bob", "+1", False),
        (member_id(ALICE), "Alice", "-1", True)}

    # A restart: a new process with nothing in memory; the click on the old message still counts.
    await bot.close()
    restarted = await start(settings, database_url, clock, fake)
    try:
        await click(restarted.client, CAROL, message, f"quorum:a:vote cast #{vote_id} 0")
        update = answer(fake)
        assert update["type"] == UPDATE_MESSAGE and "Binding so far: 1 +1, 1 0, 1 -1" in text_of(update["data"])
        assert "It is binding" in last_followup(fake)["content"], "Carol is PMC through the config"
        # Changing one's mind by clicking another button.
        await click(restarted.client, ALICE, message, f"quorum:a:vote cast #{vote_id} +1")
        assert "Binding so far: 2 +1, 1 0, 0 -1" in text_of(answer(fake)["data"])
        assert "Changed your vote" in last_followup(fake)["content"]
        view = await status(restarted, vote_id)
        assert len(view.ballots) == 4 and view.is_open
    finally:
        await restarted.close()


async def test_a_member_seen_only_in_direct_messages_keeps_the_role_discord_showed_in_the_server(
        bot: Process, fake: FakeDiscord, clock: ManualClock) -> None:
    """Discord sends no roles with a direct-message interaction: that must not count as 'holds none'."""
    await seen(bot, DAN)
    first, _ = await open_vote(bot, fake, title="First", duration="72h")
    assert len((await status(bot, first)).electorate) == 3
    await slash(bot.client, DAN, "vote list", in_guild=False)
    assert "#1 First" in answer(fake)["data"]["content"]
    second, _ = await open_vote(bot, fake, title="Second", duration="72h")
    assert member_id(DAN) in [m for m, _ in (await status(bot, second)).electorate]


# -- 3: consensus and its veto form --------------------------------------------------------
async def test_a_consensus_veto_asks_for_its_reason(bot: Process, fake: FakeDiscord) -> None:
    await seen(bot, DAN)
    vote_id, message = await open_vote(bot, fake, title="Move to GitHub Discussions", rule="consensus")
    veto = f"quorum:p:vote cast #{vote_id} -1"
    assert custom_ids(answer(fake)["data"])[2] == veto

    await click(bot.client, DAN, message, veto)
    modal = answer(fake)
    assert modal["type"] == MODAL and modal["data"]["title"] == "-1"
    assert modal["data"]["components"][0]["components"][0]["label"] == "Reason for your veto"
    assert not (await status(bot, vote_id)).ballots, "nothing is recorded before the reason"

    await submit_modal(bot.client, DAN, message, modal["data"], 'It splits the "user" forum')
    update = answer(fake)
    assert update["type"] == UPDATE_MESSAGE
    assert "Binding so far: 0 +1, 0 0, 1 -1" in text_of(update["data"])
    assert "-1 Dan (\"It splits the 'user' forum\")" in text_of(update["data"])
    [ballot] = (await status(bot, vote_id)).ballots
    assert (ballot.voter, ballot.value, ballot.binding, ballot.comment) == (
        member_id(DAN), "-1", True, "It splits the 'user' forum")


# -- 4: closing ------------------------------------------------------------------------------
async def test_close_is_for_chairs_and_force_posts_the_result(bot: Process, fake: FakeDiscord) -> None:
    await seen(bot, DAN)
    vote_id, message = await open_vote(bot, fake, title="Adopt the RFC process")
    await click(bot.client, DAN, message, f"quorum:a:vote cast #{vote_id} +1")

    await slash(bot.client, BOB, "vote close", vote=f"#{vote_id}", force=True)
    refused = answer(fake)["data"]
    assert refused["flags"] & EPHEMERAL and "/vote close is for chairs (PMC)" in refused["content"]
    assert (await status(bot, vote_id)).is_open

    await slash(bot.client, ALICE, "vote close", vote=f"#{vote_id}")
    early = answer(fake)["data"]
    assert early["flags"] & EPHEMERAL and "2 of 3 binding voters have not voted" in early["content"]
    assert (await status(bot, vote_id)).is_open

    await slash(bot.client, ALICE, "vote close", vote=f"#{vote_id}", force=True)
    result = answer(fake)["data"]
    assert not result.get("flags", 0) & EPHEMERAL, "the result is public"
    shown = text_of(result)
    assert shown.startswith("[RESULT][VOTE] Adopt the RFC process\n")
    assert "early by Alice with force=yes" in shown and "Outcome: NO-QUORUM" in shown
    assert not custom_ids(result), "a result has no buttons"
    view = await status(bot, vote_id)
    assert (view.status, view.closed_by, view.close_forced) == ("closed", member_id(ALICE), True)

    # Answered in the vote's own channel: the outbox does not post it a second time there.
    await bot.tick()
    assert not fake.calls_to("POST", CHANNEL_POSTS)
    # A click on the closed vote's message is refused privately and changes nothing; the stale message
    # is redrawn as the result, without buttons.
    await click(bot.client, ERIN, message, f"quorum:a:vote cast #{vote_id} +1")
    redrawn = answer(fake)
    assert redrawn["type"] == UPDATE_MESSAGE and text_of(redrawn["data"]).startswith("[RESULT][VOTE]")
    assert not custom_ids(redrawn["data"]), "the redrawn result has no buttons"
    refused = last_followup(fake)
    assert refused["flags"] & EPHEMERAL and "closed" in refused["content"]
    assert len((await status(bot, vote_id)).ballots) == 1


# -- 5: the outbox through the Discord notifier -------------------------------------------
async def test_reminders_and_the_result_go_through_the_discord_notifier_once(
        bot: Process, fake: FakeDiscord, clock: ManualClock) -> None:
    await seen(bot, DAN)
    vote_id, message = await open_vote(bot, fake, title="Adopt the RFC process", rule="lazy-consensus")
    await click(bot.client, ALICE, message, f"quorum:a:vote cast #{vote_id} +1")
    opened_at = clock.now()
    remind_at, closes_at = opened_at + timedelta(hours=48), opened_at + timedelta(hours=72)
    closed = {"message": "Cannot send messages to this user", "code": 50007}
    fake.fail("POST", rf"/channels/{dm_channel(CAROL)}/messages", 403, closed, times=5)

    clock.set(remind_at - timedelta(seconds=1))
    await bot.tick()
    assert not fake.calls_to("POST", "/users/@me/channels"), "not before 24 hours before the close"

    clock.set(remind_at)
    await bot.tick()
    opened_dms = sorted(c.body["recipient_id"] for c in fake.calls_to("POST", "/users/@me/channels"))
    assert opened_dms == [DAN[0], CAROL[0]], "binding members who have not voted; not Alice, who voted"
    [dm] = fake.calls_to("POST", rf"/channels/{dm_channel(DAN)}/messages")
    reminder = text_of(dm.body)
    assert f'Reminder: vote #{vote_id} "Adopt the RFC process" closes Fri 2022-03-04 12:00 UTC your time' in reminder
    assert custom_ids(dm.body) == [f"quorum:a:vote cast #{vote_id} +1", f"quorum:a:vote cast #{vote_id} 0",
                                   f"quorum:a:vote cast #{vote_id} -1"]
    # Carol's DMs are closed: she is mentioned once in the vote's channel instead.
    [fallback] = fake.calls_to("POST", CHANNEL_POSTS)
    assert fallback.body["content"].startswith(f"<@{CAROL[0]}> (your direct messages are closed, so here):")
    assert fallback.body["allowed_mentions"]["parse"] == ["users"]

    clock.set(remind_at + timedelta(hours=6))
    await bot.tick()
    assert len(fake.calls_to("POST", rf"/channels/{dm_channel(DAN)}/messages")) == 1
    assert len(fake.calls_to("POST", CHANNEL_POSTS)) == 1

    # Dan votes from the reminder's button, in the direct message.
    reminder_message = as_message(dm.body, fake, dm_channel(DAN))
    await click(bot.client, DAN, reminder_message, f"quorum:a:vote cast #{vote_id} +1", in_guild=False)
    assert "It is binding" in last_followup(fake)["content"]
    assert {b.voter for b in (await status(bot, vote_id)).ballots} == {member_id(ALICE), member_id(DAN)}

    # The deadline: the vote closes by itself and its result is posted once, in the vote's channel.
    clock.set(closes_at)
    await bot.tick()
    posts = fake.calls_to("POST", CHANNEL_POSTS)[1:]
    assert len(posts) == 1
    result = text_of(posts[0].body)
    assert result.startswith("[RESULT][VOTE] Adopt the RFC process\n")
    assert "Closed Fri 2022-03-04 12:00 UTC (UTC), at its deadline." in result
    assert "Outcome: PASSED" in result and "Did not vote (1 of the electorate): 500000000000000009." in result
    assert not custom_ids(posts[0].body)
    view = await status(bot, vote_id)
    assert view.closed_at == closes_at and view.head_digest in result
    for hours in (1, 30):
        clock.set(closes_at + timedelta(hours=hours))
        await bot.tick()
    assert len(fake.calls_to("POST", CHANNEL_POSTS)) == 2, "the result is posted exactly once"


# -- 6: scheduled events through real commands ----------------------------------------------
async def test_meeting_commands_keep_the_guild_scheduled_events_in_step(bot: Process, fake: FakeDiscord) -> None:
    await slash(bot.client, ALICE, "meeting series create", **SERIES)
    created = fake.calls_to("POST", EVENTS)
    assert [c.body["scheduled_start_time"][:16] for c in created] == [
        "2022-03-02T16:00", "2022-03-09T16:00", "2022-03-16T15:00", "2022-03-23T15:00"]
    march_9 = next(e for e in fake.events.values() if e["scheduled_start_time"].startswith("2022-03-09"))

    await slash(bot.client, ALICE, "meeting cancel", date="2022-03-09", reason="Holiday")
    assert "Cancelled the meeting" in answer(fake)["data"]["content"]
    cancels = [c for c in fake.calls_to("PATCH", rf"{EVENTS}/\d+") if c.body.get("status") == 4]
    assert [c.path for c in cancels] == [f"/guilds/{GUILD_ID}/scheduled-events/{march_9['id']}"], "cancelled once"
    assert fake.events[march_9["id"]]["status"] == 4

    await slash(bot.client, ALICE, "meeting restore", date="2022-03-09")
    assert "Restored" in answer(fake)["data"]["content"] or "restore" in answer(fake)["data"]["content"].lower()
    created = fake.calls_to("POST", EVENTS)
    assert len(created) == 5, "a cancelled Discord event cannot be reopened: a new one is made, once"
    assert created[-1].body["scheduled_start_time"].startswith("2022-03-09T16:00")
    assert created[-1].body["name"] == "TVM Community Meeting"

    # A member without the role cannot cancel; nothing changes on Discord.
    calls = len(fake.calls)
    await slash(bot.client, BOB, "meeting cancel", date="2022-03-16")
    assert "is for chairs" in answer(fake)["data"]["content"]
    assert not [c for c in fake.calls[calls:] if "scheduled-events" in c.path]



async def test_a_slow_open_and_a_slow_click_still_answer_publicly_and_in_place(bot: Process, fake: FakeDiscord) -> None:
    await seen(bot, DAN)
    bot.client.quorum.defer_after = 0  # every command counts as slow: deferred first, answered after
    await slash(bot.client, ALICE, "vote open", title="Adopt the RFC process", rule="consensus")
    assert answer(fake)["type"] == 5
    posted = last_followup(fake)
    assert not posted.get("flags", 0) & EPHEMERAL and "Vote #1: Adopt the RFC process" in text_of(posted)
    assert custom_ids(posted) == ["quorum:a:vote cast #1 +1", "quorum:a:vote cast #1 0", "quorum:p:vote cast #1 -1"]
    message = as_message(posted, fake)
    await click(bot.client, DAN, message, "quorum:a:vote cast #1 +1")
    assert answer(fake)["type"] == 6
    edit = fake.calls_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")[-1].body
    assert "Binding so far: 1 +1, 0 0, 0 -1" in text_of(edit) and custom_ids(edit) == custom_ids(posted)
    # The veto form still has its own label: the deferred answer registered the button's prompt.
    await click(bot.client, ALICE, message, "quorum:p:vote cast #1 -1")
    assert answer(fake)["data"]["components"][0]["components"][0]["label"] == "Reason for your veto"


# -- the vote message at the close ------------------------------------------------------------
REDRAWS = rf"/channels/{CHANNEL_ID}/messages/\d+"


async def test_the_vote_message_becomes_the_result_when_the_vote_closes(
        bot: Process, fake: FakeDiscord, clock: ManualClock) -> None:
    opened_at = clock.now()
    vote_id, _ = await open_vote(bot, fake, title="Adopt the RFC process", rule="lazy-consensus")
    await slash(bot.client, ALICE, "vote open", title="Another question", rule="lazy-consensus")
    assert not fake.calls_to("PATCH", REDRAWS)

    # The deadline: besides the result post, the vote's own message is redrawn as the result, without
    # buttons, so nobody takes the vote for open; the other vote's message is left alone.
    clock.set(opened_at + timedelta(hours=72))
    await bot.tick()
    [redraw] = [c for c in fake.calls_to("PATCH", REDRAWS) if "Adopt the RFC process" in text_of(c.body)]
    assert text_of(redraw.body).startswith("[RESULT][VOTE] Adopt the RFC process\n")
    assert "Outcome: PASSED" in text_of(redraw.body)
    assert redraw.body["components"] == []
    assert len(fake.calls_to("PATCH", REDRAWS)) == 2, "each vote's own message, once"
    for hours in (1, 30):
        clock.set(opened_at + timedelta(hours=72 + hours))
        await bot.tick()
    assert len(fake.calls_to("PATCH", REDRAWS)) == 2, "redrawn exactly once"
    assert (await status(bot, vote_id)).outcome == "passed"


async def test_a_slow_open_records_its_message_too_and_a_chair_close_redraws_it(
        bot: Process, fake: FakeDiscord) -> None:
    bot.client.quorum.defer_after = 0  # the vote message comes as a follow-up
    await slash(bot.client, ALICE, "vote open", title="Adopt the RFC process", rule="lazy-consensus",
                duration="1h", force="yes")
    await slash(bot.client, ALICE, "vote close", vote="#1", force="yes")
    await bot.tick()
    [redraw] = fake.calls_to("PATCH", REDRAWS)
    assert text_of(redraw.body).startswith("[RESULT][VOTE] Adopt the RFC process\n")
    assert redraw.body["components"] == []


async def test_a_config_listed_member_is_named_from_discord(bot: Process, fake: FakeDiscord) -> None:
    """Carol is PMC through the config and never used the bot: Discord is asked for her (no privileged
    intent needed), so the vote names her instead of showing her id."""
    from tests.adapters.discord.harness import member as member_payload

    fake.members[str(CAROL[0])] = {**member_payload(CAROL[0], "carol", ()), "nick": "Carol C."}
    vote_id, _ = await open_vote(bot, fake, title="Adopt the RFC process", rule="lazy-consensus")
    shown = text_of(answer(fake)["data"])
    assert "Carol C." in shown and str(CAROL[0]) not in shown
    assert len(fake.calls_to("GET", rf"/guilds/{GUILD_ID}/members/{CAROL[0]}")) == 1
    assert dict((await status(bot, vote_id)).electorate)[member_id(CAROL)] == "Carol C."
