"""The vote planner reads only what is due: after its first call, the votes entering their reminder
lead, the ones not known to be reminded, and the ones due to close. Nothing is missed or doubled, also
across a restart."""

from __future__ import annotations

from datetime import timedelta

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.services import Services
from storage.db import Database
from tests.helpers import Members, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, tick
from tests.services.test_vote_notices import dms, electorate, open_in_general


async def test_votes_opened_after_the_first_tick_are_reminded_and_closed_once(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock, settings: Settings,
        database_url: str) -> None:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    clock.set(utc(2022, 3, 7, 12, 0))
    await electorate(dispatcher, members, "bob")
    assert await tick(services) is None  # the planner's first call: no vote yet
    first = await open_in_general(services, settings)
    clock.advance(timedelta(hours=1))
    second = await open_in_general(services, settings)
    closes = {vote_id: utc(2022, 3, 10, 12 + n) for n, vote_id in enumerate((first, second))}
    assert await tick(services) == closes[first] - timedelta(hours=24)
    for vote_id in (first, second):
        clock.set(closes[vote_id] - timedelta(hours=24))
        await tick(services)
        await tick(services)  # nothing new
        assert [target for at, target in dms(notifier) if at == clock.now()] == ["console:bob", "console:carol"]
    restarted_db = Database(database_url)
    try:
        restarted = build_services(restarted_db, clock, settings)  # a new process reads the whole reminder lead again
        restarted.notifiers["console"] = notifier
        await tick(restarted)
        for vote_id in (first, second):
            clock.set(closes[vote_id])
            await tick(restarted)
            await tick(services)  # the old process too: each result is posted once
    finally:
        await restarted_db.dispose()
    rows = await outbox_rows(services)
    assert {rows[f"vote:{v}:result"].status for v in (first, second)} == {"sent"}
    assert len(dms(notifier)) == 4  # bob and carol (the electorate), once per vote
    notifier.assert_each_once()
