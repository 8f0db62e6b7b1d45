"""Action buttons: persistent custom ids that work after a restart, in-place tally updates via the
``Reply.refresh`` convention, and a modal when a button asks for text. The vote commands here are
a stand-in registry made only for this test (the real votes arrive on another branch)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from bot.adapters.discord.client import QuorumClient
from bot.commands.dispatcher import CommandContext, Dispatcher
from bot.commands.options import Kind, Option
from bot.commands.registry import Registry
from bot.contracts.reply import Button, Reply, VoteChoice
from bot.errors import InvalidInput
from bot.services import Services
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import autocomplete, click, guild_create, slash, start_client, submit_modal
from tests.adapters.discord.test_commands import ALICE, BOB, CALLBACK

VOTES = Registry()
TALLY: dict[str, list[tuple[str, str, str | None]]] = {}


def tally_reply() -> Reply:
    ballots = TALLY.setdefault("1", [])
    counts = {v: sum(1 for _, value, _ in ballots if value == v) for v in ("+1", "0", "-1")}
    return Reply(
        text=f"Vote #1 Adopt the RFC: +1 {counts['+1']} · 0 {counts['0']} · -1 {counts['-1']}", ephemeral=False,
        buttons=(Button("+1", "vote cast #1 +1", "vote:1:+1", "primary"), Button("0", "vote cast #1 0", "vote:1:0"),
                 Button("-1 (veto)", "vote cast #1 -1", "vote:1:-1", "danger", prompt="Why do you veto?")),
        kind="vote",
    )


@VOTES.command("vote show", "Show a vote with its buttons.",
               Option("vote", Kind.REF, "The vote.", required=True, positional=True, autocomplete="open_vote"))
async def vote_show(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    return tally_reply()


@VOTES.command("vote list", "List votes.")
async def vote_list(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    return Reply(text="votes", votes=(VoteChoice(1, "Adopt the RFC", is_open=True),
                                      VoteChoice(2, "Old one", is_open=False)))


@VOTES.command("vote cast", "Cast a ballot.",
               Option("vote", Kind.REF, "The vote.", required=True, positional=True),
               Option("value", Kind.CHOICE, "Your ballot.", required=True, positional=True, choices=("+1", "0", "-1")),
               Option("comment", Kind.TEXT, "Why.", positional=True))
async def vote_cast(ctx: CommandContext, args: Mapping[str, Any]) -> Reply:
    if args["value"] == "-1" and not args.get("comment"):
        raise InvalidInput("A -1 is a veto and needs a reason.")
    ballots = TALLY.setdefault("1", [])
    ballots[:] = [b for b in ballots if b[0] != ctx.actor.member_id]
    ballots.append((ctx.actor.member_id, args["value"], args.get("comment")))
    return Reply(text=f"Your ballot {args['value']} on #1 is counted.",
                 refresh=tally_reply())


@pytest.fixture
def vote_dispatcher(services: Services) -> Dispatcher:
    TALLY.clear()
    return Dispatcher(services, VOTES)


@pytest.fixture
async def vote_client(vote_dispatcher: Dispatcher, fake: FakeDiscord) -> AsyncIterator[QuorumClient]:
    client = await start_client(vote_dispatcher, fake)
    await guild_create(client)
    yield client
    await client.close()


def posted_message(fake: FakeDiscord) -> dict[str, Any]:
    """The message Discord made from the last interaction answer, as a gateway payload would show it."""
    call = fake.calls_to("POST", CALLBACK)[-1]
    message = fake.message("800000000000000002", call.body["data"])
    return message


async def test_clicks_work_after_a_restart_and_update_the_tally_in_place(
        vote_dispatcher: Dispatcher, vote_client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(vote_client, ALICE, "vote show", vote="#1")
    message = posted_message(fake)
    buttons = message["components"][0]["components"]
    assert [b["custom_id"] for b in buttons] == ["quorum:a:vote cast #1 +1", "quorum:a:vote cast #1 0",
                                                 "quorum:p:vote cast #1 -1"]
    await vote_client.close()

    restarted = await start_client(vote_dispatcher, fake)  # a new process: nothing in memory
    try:
        await guild_create(restarted)
        await click(restarted, BOB, message, "quorum:a:vote cast #1 +1")
        update = fake.calls_to("POST", CALLBACK)[-1].body
        assert update["type"] == 7, "the vote message itself is edited"
        assert "+1 1 · 0 0 · -1 0" in update["data"]["content"]
        assert update["data"]["components"][0]["components"][0]["custom_id"] == "quorum:a:vote cast #1 +1"
        confirmation = fake.calls_to("POST", r"/webhooks/\d+/[^/]+")[-1].body
        assert confirmation["flags"] & 64 and "Your ballot +1 on #1 is counted" in confirmation["content"]
        assert TALLY["1"] == [("discord:500000000000000002", "+1", None)]

        # A veto asks for its reason first, then counts with it.
        await click(restarted, ALICE, message, "quorum:p:vote cast #1 -1")
        modal = fake.calls_to("POST", CALLBACK)[-1].body
        assert modal["type"] == 9 and modal["data"]["title"] == "-1 (veto)"
        await submit_modal(restarted, ALICE, message, modal["data"], 'Breaks the "stable" API')
        update = fake.calls_to("POST", CALLBACK)[-1].body
        assert update["type"] == 7 and "+1 1 · 0 0 · -1 1" in update["data"]["content"]
        assert ("discord:500000000000000001", "-1", "Breaks the 'stable' API") in TALLY["1"]
    finally:
        await restarted.close()


async def test_a_failed_click_answers_privately_and_leaves_the_message(
        vote_client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(vote_client, ALICE, "vote show", vote="#1")
    message = posted_message(fake)
    # A veto whose reason is only blanks: the command's own error, ephemeral, nothing counted.
    await click(vote_client, BOB, message, "quorum:p:vote cast #1 -1")
    modal = fake.calls_to("POST", CALLBACK)[-1].body
    assert modal["data"]["components"][0]["components"][0]["label"] == "Why do you veto?"
    await submit_modal(vote_client, BOB, message, modal["data"], "   ")
    answer = fake.calls_to("POST", CALLBACK)[-1].body
    assert answer["type"] == 4 and answer["data"]["flags"] & 64
    assert "comment" in answer["data"]["content"]
    assert TALLY.get("1", []) == []


async def test_deferred_click_edits_the_original_message(vote_client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(vote_client, ALICE, "vote show", vote="#1")
    message = posted_message(fake)
    vote_client.quorum.defer_after = 0
    await click(vote_client, BOB, message, "quorum:a:vote cast #1 0")
    assert fake.calls_to("POST", CALLBACK)[-1].body["type"] == 6
    edit = fake.calls_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")[-1].body
    assert "+1 0 · 0 1 · -1 0" in edit["content"]


async def test_open_votes_autocomplete(vote_client: QuorumClient, fake: FakeDiscord, services: Services) -> None:
    await autocomplete(vote_client, BOB, "vote show", "vote", vote="")
    assert fake.calls_to("POST", CALLBACK)[-1].body["data"]["choices"] == [{"name": "#1 Adopt the RFC", "value": "#1"}]


def test_choice_options_become_discord_choices() -> None:
    from bot.adapters.discord.tree import schema

    [vote] = schema(VOTES)
    cast = next(o for o in vote["options"] if o["name"] == "cast")
    value = next(o for o in cast["options"] if o["name"] == "value")
    assert value["choices"] == [{"name": "+1", "value": "+1"}, {"name": "0", "value": "0"},
                                {"name": "-1", "value": "-1"}]
    show = next(o for o in vote["options"] if o["name"] == "show")
    assert show["options"][0]["autocomplete"] is True
