"""Fuzzing through the whole stack: random command lines, run as a member and as a chair, never crash
(no "something went wrong" reply) and a failed command changes nothing stored."""

from __future__ import annotations

import random

from bot.commands.catalog import REGISTRY
from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok, stored

WORDS = [
    "#1", "#2", "#999", "@bob", "@alice", "@", "+1", "-1", "0", "+7", "host", "notes", "open", "closed", "yes",
    "no", "community", "nosuch", "2022-03-02", "2022-03-09", "2022-02-30", "2022-03-13T02:30", "2031-01-01T09:00",
    "tz=Europe/Berlin", "tz=Mars/Base", "date=2022-03-09", "date=yesterday", "count=3", "count=-1", "count=99",
    "rule=consensus", "rule=lazy-two-thirds", "rule=unanimous", "duration=72h", "duration=5m", "duration=-3h",
    "force=yes", "kind=decision", "kind=action", "owner=@carol", "item=#1", "link=https://x.org/rfc", "role=PMC",
    "role=Nobody", '"Release plan"', '"unbalanced', "https://github.com/o/r/issues/1", "ftp://x.org", "=", "==",
    "x=", "=y", "é", "<@U123>", "on", "off", "24h,1h", "UTC", "Europe/London", "private", "rotate", "add", "list",
    "next", "show", "cast", "status", "close", "join", "leave", "skip", "swap", "accept", "assign", "volunteer",
]


def random_line(rng: random.Random) -> str:
    command = rng.choice(REGISTRY.all())
    words = list(command.path) if rng.random() < 0.9 else [rng.choice(["meeting", "vote", "frob"])]
    # Often no extra words at all, so that plenty of lines are valid commands too.
    words += [rng.choice(WORDS) for _ in range(rng.choice([0, 0, 0, 1, 2, 3, 5]))]
    return "/" + " ".join(words)


async def test_random_commands_never_crash_and_failures_change_nothing(
    dispatcher: Dispatcher, members: Members, services: Services
) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "First" https://github.com/o/r/issues/100')
    await ok(dispatcher, members.chair(), '/vote open "Adopt the roadmap" rule=lazy-majority')
    rng = random.Random(20221122)
    actors = [members.member("bob"), members.chair("alice")]
    failures = successes = 0
    for _ in range(200):
        line = random_line(rng)
        before = await stored(services)
        reply = await dispatcher.run_text(line, rng.choice(actors))
        assert "something went wrong" not in reply.text, f"{line!r} crashed: {reply.text}"
        assert reply.text.strip(), f"{line!r} gave an empty answer"
        if reply.ok:
            successes += 1
        else:
            failures += 1
            assert await stored(services) == before, f"{line!r} failed but changed the records"
    # The fuzzing must exercise both paths, or it proves nothing.
    assert failures > 30 and successes > 10, (failures, successes)
