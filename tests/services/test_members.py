"""What a member's commands record about them (MemberService.touch): their name and the roles the
platform reports, with when it last did (the evidence a vote's electorate counts, Settings.role_evidence).
A touch reads before it writes: these tests check that what it then writes, or skips, is right across
days, restarts and replicas."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.app import build_services
from bot.clock import ManualClock
from bot.config import Settings
from bot.services import Services
from storage.db import Database
from tests.helpers import Members, utc


async def test_role_evidence_is_renewed_on_each_new_day_and_once_a_day(
        services: Services, members: Members, clock: ManualClock) -> None:
    first_seen = clock.now()
    await services.members.touch(members.chair("alice"))
    assert await services.members.role_evidence("tvm", "PMC") == {"console:alice": first_seen}

    clock.advance(timedelta(days=1))
    await services.members.touch(members.chair("alice"))
    assert await services.members.role_evidence("tvm", "PMC") == {"console:alice": first_seen + timedelta(days=1)}


async def test_a_replica_does_not_rewrite_what_another_recorded_today_but_records_any_change(
        services: Services, members: Members, clock: ManualClock, database_url: str, settings: Settings) -> None:
    seen_at = clock.now()
    await services.members.touch(members.chair("alice"))
    other_db = Database(database_url)
    try:
        replica = build_services(other_db, clock, settings)  # or this process after a restart: nothing cached
        clock.advance(timedelta(hours=3))
        await replica.members.touch(members.chair("alice"))
        # Reported today already, with the same roles: the evidence stands as of the day's first report.
        assert await services.members.role_evidence("tvm", "PMC") == {"console:alice": seen_at}

        clock.advance(timedelta(hours=1))
        await replica.members.touch(members.actor("alice", "PMC", "TSC"))  # a new role, the same day
        assert await services.members.role_evidence("tvm", "TSC") == {"console:alice": seen_at + timedelta(hours=4)}

        await replica.members.touch(members.actor("alice"))  # the platform no longer reports any role
        assert await services.members.role_evidence("tvm", "PMC") == {}
        assert await services.members.role_evidence("tvm", "TSC") == {}

        await replica.members.touch(replace(members.actor("alice"), display_name="Alice Liddell"))
        info = await services.members.get("tvm", "console:alice")
        assert info is not None and info.display_name == "Alice Liddell"
    finally:
        await other_db.dispose()


async def test_a_member_without_roles_is_recorded_on_first_sight(services: Services, members: Members,
                                                                 clock: ManualClock) -> None:
    clock.set(utc(2022, 3, 2, 9))
    await services.members.touch(members.member("bob"))
    info = await services.members.get("tvm", "console:bob")
    assert info is not None and info.display_name == "bob"
    assert await services.members.role_holders("tvm", "PMC") == ["console:carol"]  # from the config only
