"""Small helpers for tests: members acting in a workspace, and running command text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.services import Services

SEED_ZONES = "UTC,Europe/London,Europe/Berlin,Asia/Kolkata,Asia/Shanghai"
SEED_SERIES = (
    '/meeting series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
    f"tz=America/Los_Angeles zones={SEED_ZONES} start=2022-03-02"
)


class Members:
    """Builds actors for a console workspace: ``members.chair("alice")``, ``members.member("bob")``."""

    def __init__(self, settings: Settings, workspace: str = "tvm") -> None:
        self.settings = settings
        self.workspace = workspace

    def actor(self, name: str, *roles: str) -> Actor:
        return make_actor(self.settings, workspace_id=self.workspace, platform="console",
                          member_id=f"console:{name}", display_name=name, platform_roles=frozenset(roles))

    def chair(self, name: str = "alice") -> Actor:
        return self.actor(name, "PMC")

    def member(self, name: str = "bob") -> Actor:
        return self.actor(name)


async def run(dispatcher: Dispatcher, actor: Actor, text: str) -> Reply:
    return await dispatcher.run_text(text, actor)


async def ok(dispatcher: Dispatcher, actor: Actor, text: str) -> Reply:
    """Run a command that must succeed; fail the test with the reply's text otherwise."""
    reply = await dispatcher.run_text(text, actor)
    assert reply.ok, f"{text!r} failed: {reply.text}"
    return reply


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An instant given in UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# Who was seen, with which roles, when: written by every command (even a refused one), as bookkeeping.
SEEN_MEMBERS = ("member", "rolegrant")


async def stored(services: Services) -> dict[str, Any]:
    """Everything stored (the full export, every table) but the bookkeeping of who was seen: what a
    refused command must leave unchanged."""
    exported = await services.export.as_dict()
    exported["tables"] = {name: rows for name, rows in exported["tables"].items() if name not in SEEN_MEMBERS}
    return exported
