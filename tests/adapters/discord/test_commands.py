"""Slash commands end to end: gateway payloads into discord.py, REST answers to the fake server."""

from __future__ import annotations

from bot.adapters.discord.client import QuorumClient
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import CHAIR_ROLE_ID, GUILD_ID, OTHER_ROLE_ID, slash

ALICE = (500000000000000001, "alice", (CHAIR_ROLE_ID,))
BOB = (500000000000000002, "bob", (OTHER_ROLE_ID,))
CALLBACK = r"/interactions/\d+/[^/]+/callback"
SERIES = dict(slug="community", name="TVM Community Meeting", weekday="wed", time="08:00", tz="America/Los_Angeles",
              zones="UTC,Europe/London,Asia/Shanghai", start="2022-03-02")


async def test_guild_create_syncs_the_tree_to_the_guild(client: QuorumClient, fake: FakeDiscord) -> None:
    synced = fake.calls_to("PUT", rf"/applications/\d+/guilds/{GUILD_ID}/commands")
    assert len(synced) == 1
    assert {c["name"] for c in synced[0].body} >= {"meeting", "agenda", "me", "quorum"}


async def test_chair_creates_a_series_and_everyone_sees_it(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    answer = fake.calls_to("POST", CALLBACK)[-1].body
    assert answer["type"] == 4
    assert not answer["data"].get("flags", 0) & 64, "a new series is announced publicly"
    assert "Created series community" in answer["data"]["content"]
    assert "<t:1646236800:F>" in answer["data"]["content"]  # 2022-03-02 16:00 UTC, in each reader's zone
    assert "08:00 PST" in answer["data"]["content"] or "16:00 UTC" in answer["data"]["content"]


def last_answer(fake: FakeDiscord) -> dict:
    body: dict = fake.calls_to("POST", CALLBACK)[-1].body
    return body


async def test_a_member_without_the_role_is_refused_privately(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, BOB, "meeting series create", **SERIES)
    answer = last_answer(fake)
    assert answer["data"]["flags"] & 64, "errors are ephemeral"
    assert "/meeting series create is for chairs (PMC)" in answer["data"]["content"]
    # Option text never grants a role: naming the role id as a value changes nothing.
    await slash(client, BOB, "meeting series create", **{**SERIES, "name": f"<@&{CHAIR_ROLE_ID}> PMC"})
    assert "is for chairs" in last_answer(fake)["data"]["content"]
    await slash(client, ALICE, "meeting series list")
    assert "No series yet" in last_answer(fake)["data"]["content"]


async def test_a_config_listed_member_is_a_chair_without_the_discord_role(client: QuorumClient,
                                                                       fake: FakeDiscord) -> None:
    carol = (500000000000000009, "carol", ())
    await slash(client, carol, "meeting series create", **SERIES)
    assert "Created series community" in last_answer(fake)["data"]["content"]


async def test_role_names_count_unless_the_config_maps_the_role(client: QuorumClient, fake: FakeDiscord) -> None:
    # "Contributors" is not a configured role name; Bob's Discord role named like the chair role would
    # count only if [roles.PMC] had no discord_role of its own.
    assert client.quorum.settings.roles["PMC"].discord_role == str(CHAIR_ROLE_ID)
    await slash(client, BOB, "meeting add", when="2022-03-10T09:00", tz="Europe/Berlin")
    assert "is for chairs" in last_answer(fake)["data"]["content"]


async def test_commands_of_each_group(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    await slash(client, BOB, "agenda add", title="Unify meetings", link="https://discuss.tvm.apache.org/t/12171")
    added = last_answer(fake)["data"]
    assert added["flags"] & 64 and "Added #1 \"Unify meetings\" as item 1" in added["content"]
    await slash(client, BOB, "agenda list")
    listing = last_answer(fake)["data"]["content"]
    assert "#1 Unify meetings" in listing and "<t:1646236800:F>" in listing
    await slash(client, ALICE, "agenda move", item="#1", position=1)
    assert "Moved #1 to position 1" in last_answer(fake)["data"]["content"]
    await slash(client, BOB, "meeting next")
    assert "Next: TVM Community Meeting (community)" in str(last_answer(fake)["data"])
    await slash(client, BOB, "meeting list", count=2)
    listed = last_answer(fake)["data"]["content"]
    assert "Your local times: <t:1646236800:F> · <t:1646841600:F>" in listed
    await slash(client, BOB, "me tz", zone="Asia/Kolkata")
    assert "Your time zone is now Asia/Kolkata" in last_answer(fake)["data"]["content"]
    await slash(client, BOB, "quorum help", command="agenda add")
    assert "/agenda add" in str(last_answer(fake)["data"])
    await slash(client, BOB, "agenda remove", item="#1")
    assert "Removed #1" in last_answer(fake)["data"]["content"]


async def test_invalid_values_get_the_shared_parser_message(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **{**SERIES, "tz": "Mars/Olympus"})
    answer = last_answer(fake)["data"]
    assert answer["flags"] & 64
    assert "Mars/Olympus" in answer["content"]


async def test_direct_messages_refuse_commands_that_need_roles(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", in_guild=False, **SERIES)
    answer = last_answer(fake)["data"]
    assert answer["flags"] & 64
    assert "works only in the server" in answer["content"]
    await slash(client, ALICE, "meeting series list", in_guild=False)
    assert "No series yet" in last_answer(fake)["data"]["content"], "other commands work, on the one guild"


async def test_slow_commands_are_deferred_then_answered(client: QuorumClient, fake: FakeDiscord) -> None:
    client.quorum.defer_after = 0  # every command counts as slow
    await slash(client, BOB, "meeting series list")
    deferred = last_answer(fake)
    assert deferred["type"] == 5 and deferred["data"]["flags"] & 64
    edit = fake.calls_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")[-1]
    assert "No series yet" in edit.body["content"]
    # A public answer replaces the private "thinking" placeholder.
    await slash(client, ALICE, "meeting series create", **SERIES)
    assert fake.calls_to("DELETE", r"/webhooks/\d+/[^/]+/messages/@original")
    follow = fake.calls_to("POST", r"/webhooks/\d+/[^/]+")[-1]
    assert "Created series community" in follow.body["content"]
    assert not follow.body.get("flags", 0) & 64


async def test_a_long_answer_comes_whole_in_several_messages(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    for i in range(24):  # 24 items with long titles: an agenda of about 7,000 characters
        await slash(client, BOB, "agenda add", title=f"Item {i:02d} " + "t" * 190,
                    link=f"https://github.com/o/r/issues/{i}")
    await slash(client, BOB, "agenda list")
    answer = last_answer(fake)["data"]
    followups = [c.body for c in fake.calls_to("POST", r"/webhooks/\d+/[^/]+")]
    assert followups, "the rest of the agenda follows the first answer"
    parts = [answer["embeds"][0]["description"]] + [f["embeds"][0]["description"] for f in followups]
    assert all(len(p) <= 4096 for p in parts)
    whole = "\n".join(parts)
    assert all(f"Item {i:02d} " in whole for i in range(24)), "no item is cut off"
    assert "…" not in whole
