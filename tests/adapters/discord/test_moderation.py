"""Moderation through Discord (issue 16, item 7): member text never pings or reorders the post, and a
chair's removal of an item after the deadline edits the posted announcement."""

from __future__ import annotations

from bot.adapters.discord.client import QuorumClient
from bot.clock import ManualClock
from bot.services import Services
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import CHANNEL_ID, slash
from tests.adapters.discord.test_commands import ALICE, BOB, SERIES, last_answer
from tests.helpers import utc
from tests.services.reminder_helpers import tick

POSTS = rf"/channels/{CHANNEL_ID}/messages"


async def test_a_title_cannot_ping_and_a_chair_removal_edits_the_announcement(
        client: QuorumClient, fake: FakeDiscord, services: Services, clock: ManualClock) -> None:
    services.notifiers["discord"] = client.notifier
    await slash(client, ALICE, "meeting series create", **SERIES, channel=str(CHANNEL_ID))
    await slash(client, BOB, "agenda add", title="@everyone <@&700000000000000001> free \u202egnp.exe",
                link="https://discuss.tvm.apache.org/t/1")
    added = last_answer(fake)["data"]["content"]
    assert "@\u200beveryone" in added and "<@&" not in added and "\u202e" not in added
    await slash(client, BOB, "agenda add", title="Release 0.9", link="https://discuss.tvm.apache.org/t/2")

    clock.set(utc(2022, 3, 1, 16, 0))  # the deadline: the announcement is posted
    await tick(services)
    announcement = fake.calls_to("POST", POSTS)[-1].body
    shown = announcement["embeds"][0]["description"]
    assert "@\u200beveryone" in shown and "<@&" not in shown
    assert announcement["allowed_mentions"]["parse"] == [] or "everyone" not in announcement["allowed_mentions"].get(
        "parse", [])

    # Bob (the author) may no longer remove it; a chair may, and the posted announcement is edited.
    await slash(client, BOB, "agenda remove", item="#1")
    assert "only a chair may remove an item now" in last_answer(fake)["data"]["content"]
    await slash(client, ALICE, "agenda remove", item="#1")
    assert "Removed #1" in last_answer(fake)["data"]["content"]
    await tick(services)
    edits = fake.calls_to("PATCH", rf"{POSTS}/\d+")
    assert len(edits) == 1
    edited = edits[0].body["embeds"][0]["description"]
    assert "removed by a chair, Alice, after the agenda closed" in edited
    assert "1. Release 0.9" in edited and "gnp" in edited and "\u202e" not in edited


async def test_discord_shows_each_readers_time_of_the_deadline_and_the_vote_close(
        client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    await slash(client, BOB, "agenda add", title="Unify meetings", link="https://discuss.tvm.apache.org/t/1")
    added = last_answer(fake)["data"]["content"]
    assert "starts <t:1646236800:F> · agenda deadline <t:1646150400:F>" in added
    await slash(client, ALICE, "vote open", title="Adopt the RFC")
    opened = last_answer(fake)["data"]
    shown = opened["embeds"][0]["description"] if opened.get("embeds") else opened["content"]
    assert "vote closes <t:1646395200:F>" in shown  # Fri 2022-03-04 12:00 UTC, 72 h after opening
