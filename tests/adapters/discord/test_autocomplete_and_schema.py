"""Autocomplete answers from the services, and the generated command schema against a golden file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.adapters.discord.client import QuorumClient
from bot.adapters.discord.tree import schema
from bot.commands.catalog import REGISTRY
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import autocomplete, slash
from tests.adapters.discord.test_commands import ALICE, BOB, CALLBACK, SERIES

GOLDEN = Path(__file__).with_name("golden_schema.json")


def test_generated_schema_matches_the_golden_file() -> None:
    """Changing a command changes what every guild sees: regenerate deliberately with
    QUORUM_UPDATE_GOLDEN=1 and review the diff."""
    generated = schema(REGISTRY)
    if os.environ.get("QUORUM_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(generated, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert generated == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_schema_respects_discord_limits() -> None:
    def walk(options: list[dict], depth: int) -> None:
        assert len(options) <= 25
        required_done = False
        for option in options:
            assert 1 <= len(option["name"]) <= 32 and option["name"] == option["name"].lower()
            assert 1 <= len(option["description"]) <= 100
            if option["type"] in (1, 2):
                assert depth < 2, "Discord nests at most a group, a subgroup and a command"
                walk(option.get("options", []), depth + 1)
            else:
                assert not (required_done and option.get("required")), "required options come first"
                required_done = required_done or not option.get("required")

    for command in schema(REGISTRY):
        walk(command.get("options", []), 0)


def choices(fake: FakeDiscord) -> list[dict]:
    answer = fake.calls_to("POST", CALLBACK)[-1].body
    assert answer["type"] == 8
    choices: list[dict] = answer["data"]["choices"]
    return choices


async def test_series_and_agenda_items_autocomplete(client: QuorumClient, fake: FakeDiscord) -> None:
    await slash(client, ALICE, "meeting series create", **SERIES)
    await slash(client, ALICE, "meeting series create", **{**SERIES, "slug": "release", "name": "Release sync"})
    await autocomplete(client, BOB, "meeting next", "series", series="rel")
    assert choices(fake) == [{"name": "release: Release sync", "value": "release"}]
    await slash(client, BOB, "agenda add", title="Unify meetings", link="https://discuss.tvm.apache.org/t/12171",
                series="community")
    await autocomplete(client, BOB, "agenda remove", "item", item="unify")
    assert choices(fake) == [{"name": "#1 Unify meetings (community)", "value": "#1"}]
    await autocomplete(client, BOB, "agenda remove", "item", item="#99")
    assert choices(fake) == []

