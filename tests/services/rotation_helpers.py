"""The rotation season the rotation and notes tests start from."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands.dispatcher import Dispatcher
from tests.helpers import SEED_SERIES, Members, ok

# Seed series: Wednesdays 08:00 America/Los_Angeles (16:00 UTC in March 2022), agenda closes 24 h before.
FIRST = datetime(2022, 3, 2, 16, 0, tzinfo=UTC)


async def season_start(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    for name in ("bob", "carol", "dan"):
        await ok(dispatcher, members.member(name), "/rotation join host")
    for name in ("erin", "frank", "bob"):
        await ok(dispatcher, members.member(name), "/rotation join notes")
