"""Members: recording who acts (name, roles as the platform reports them) and their own settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import Clock
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.rules.parsing import parse_zone
from storage.db import Database
from storage.queries import members as q
from storage.queries import plans as plans_q


@dataclass(frozen=True)
class MemberInfo:
    id: str
    display_name: str
    timezone: str | None
    reminder_offsets: str | None


class MemberService:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        # What was last written for each member, and on which day, so a command only writes when something
        # changed, or once a day to keep the member's role evidence fresh (a vote's electorate counts
        # evidence only when recent: Settings.role_evidence).
        self._seen: dict[tuple[str, str], tuple[str, frozenset[str], date]] = {}

    async def touch(self, actor: Actor) -> None:
        """Record the workspace, the member's display name and the roles the platform reported."""
        key = (actor.workspace_id, actor.member_id)
        now = self.clock.now()
        state = (actor.display_name, actor.platform_roles, now.date())
        if self._seen.get(key) == state:
            return
        if await self._recorded_today(actor, now):
            self._seen[key] = state
            return
        async with self.db.write() as session:
            await q.ensure_workspace(session, actor.workspace_id, actor.platform, now)
            await q.upsert_member(session, actor.workspace_id, actor.member_id, actor.display_name, now)
            if actor.roles_reported:
                if await q.platform_roles(session, actor.workspace_id, actor.member_id) != set(actor.platform_roles):
                    await q.replace_platform_roles(session, actor.workspace_id, actor.member_id,
                                                   actor.platform_roles, now)
                else:  # seen again with the same roles: the evidence is as of now
                    await q.refresh_platform_roles(session, actor.workspace_id, actor.member_id, now)
        self._seen[key] = state

    async def _recorded_today(self, actor: Actor, now: datetime) -> bool:
        """True when the database already holds all a touch would write: the member under this name and, when
        the platform reported roles, exactly these, reported today (by another replica, or by this process
        before a restart). Read first because the write is often empty (a member without platform roles
        seen on a new day): a write transaction queues behind every other writer, a read does not."""
        async with self.db.read() as session:
            recorded = await q.recorded_member(session, actor.workspace_id, actor.member_id)
        if recorded is None or recorded.display_name != actor.display_name:
            return False
        if not actor.roles_reported:
            return True
        return recorded.platform_roles == actor.platform_roles and (
            recorded.oldest_evidence is None or recorded.oldest_evidence.astimezone(now.tzinfo).date() >= now.date())

    async def set_timezone(self, actor: Actor, zone_name: str) -> str:
        zone = parse_zone(zone_name).key
        async with self.db.write() as session:
            await q.set_member_fields(session, actor.workspace_id, actor.member_id, self.clock.now(),
                                      timezone=zone)
            # Reminders not yet sent show the meeting in the member's zone: plan them again.
            await plans_q.replan(session, self.clock.now(), workspace_id=actor.workspace_id)
        return zone

    async def get(self, workspace_id: str, member_id: str) -> MemberInfo | None:
        async with self.db.read() as session:
            member = await q.get_member(session, workspace_id, member_id)
        if member is None:
            return None
        return MemberInfo(member.id, member.display_name, member.timezone, member.reminder_offsets)

    async def role_holders(self, workspace_id: str, role: str) -> list[str]:
        """Members holding ``role``: those the platform reported plus those the config lists."""
        async with self.db.read() as session:
            seen = await q.role_holders(session, workspace_id, role)
        return sorted(set(seen) | set(self.settings.role_members(role)))

    async def role_evidence(self, workspace_id: str, role: str) -> dict[str, datetime]:
        """Members the platform reported holding ``role`` recently enough to count (Settings.role_evidence),
        with when it last did: older evidence says nothing about today."""
        since = self.clock.now() - self.settings.role_evidence
        async with self.db.read() as session:
            return await q.role_evidence(session, workspace_id, role, since)

    async def record_names(self, workspace_id: str, names: dict[str, str]) -> None:
        """Display names the platform gave for members (roles untouched)."""
        now = self.clock.now()
        async with self.db.write() as session:
            for member_id, name in names.items():
                await q.upsert_member(session, workspace_id, member_id, name, now)

    async def record_role_listing(self, workspace_id: str, role: str, member_ids: list[str],
                                  names: dict[str, str] | None = None) -> None:
        """A full listing of a role's holders from the platform, e.g. when a vote opens."""
        now = self.clock.now()
        async with self.db.write() as session:
            await q.replace_role_holders(session, workspace_id, role, member_ids, now)
            for member_id, name in (names or {}).items():
                await q.upsert_member(session, workspace_id, member_id, name, now)
