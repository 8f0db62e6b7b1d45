"""Several series in one Discord server: a command that names no series uses the series whose channel it
is typed in (the channel mention Discord gives for ``channel=#general`` is matched to the interaction's
channel id), for reads and writes alike (issue 16, item 3; tests/commands/test_daily_use.py has the rest)."""

from __future__ import annotations

from bot.adapters.discord.client import QuorumClient
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import CHAIR_ROLE_ID, CHANNEL_ID, OTHER_ROLE_ID, slash

ALICE = (500000000000000001, "alice", (CHAIR_ROLE_ID,))
BOB = (500000000000000002, "bob", (OTHER_ROLE_ID,))
CALLBACK = r"/interactions/\d+/[^/]+/callback"


def last_text(fake: FakeDiscord) -> str:
    return str(fake.calls_to("POST", CALLBACK)[-1].body["data"]["content"])


async def test_the_channel_decides_which_series(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", slug="relax", name="Relax", weekday="tue", time="09:00",
                tz="Asia/Shanghai", channel="<#800000000000000099>")
    await slash(client, ALICE, "meeting series create", slug="community", name="Community", weekday="wed",
                time="08:00", tz="America/Los_Angeles", channel=f"<#{CHANNEL_ID}>")
    # Typed in #general (CHANNEL_ID), the series whose channel it is.
    await slash(client, BOB, "agenda add", title="Flaky CI", link="https://github.com/apache/tvm/issues/9")
    assert "Added #1 \"Flaky CI\"" in last_text(fake) and "America/Los_Angeles" in last_text(fake)
    # A cancel there needs no series name either; the other series is untouched.
    await slash(client, ALICE, "meeting cancel")
    assert "Cancelled the meeting of" in last_text(fake) and "PST" in last_text(fake)
