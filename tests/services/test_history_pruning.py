"""History that is no longer read does not pile up: links to the Discord events of meetings that ended
longer ago than the retention, and the keys of platform requests older than a day, are deleted."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.rules.event_sync import EventLink
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok


async def test_links_of_meetings_ended_before_the_retention_are_deleted_and_the_rest_kept(
        services: Services, dispatcher: Dispatcher, members: Members, clock: ManualClock) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    async with services.db.read() as session:
        series = await services.meetings.series_in(session, members.workspace, "community")
    retention = services.settings.outbox.retention
    now = clock.now()
    ended = {"long-ago": now - retention - timedelta(days=1), "recent": now - retention + timedelta(days=1),
             "upcoming": now + timedelta(days=7)}
    for key, ends_at in ended.items():
        starts_at = ends_at - timedelta(hours=1)
        await services.event_mirror.save(EventLink(series.id, key, "1", f"event-{key}", "TVM", starts_at, ends_at,
                                                   "scheduled"))

    assert await services.event_mirror.prune_ended() == 1
    _, links = await services.event_mirror.plan(members.workspace)
    assert sorted(link.occurrence_key for link in links) == ["recent", "upcoming"]

    clock.advance(timedelta(days=2))
    assert await services.event_mirror.prune_ended() == 1
    _, links = await services.event_mirror.plan(members.workspace)
    assert [link.occurrence_key for link in links] == ["upcoming"]


async def test_request_keys_are_forgotten_after_a_day_not_before(services: Services, clock: ManualClock) -> None:
    assert await services.requests.first_time("slack:T1:trigger:1")
    clock.advance(timedelta(hours=23))
    assert not await services.requests.first_time("slack:T1:trigger:1")  # a retry within the day: seen
    clock.advance(timedelta(hours=2))
    assert await services.requests.first_time("slack:T1:trigger:2")  # claims, and prunes what is a day old
    assert await services.requests.first_time("slack:T1:trigger:1")  # forgotten, so new again

