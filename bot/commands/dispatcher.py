"""Running a command: from text or typed values to a ``Reply``, as a given member.

Errors users can cause become ephemeral replies with the message written for them; anything else is
logged with an id and answered with a short apology naming that id."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.commands import grammar
from bot.commands.registry import REGISTRY, Command, Registry
from bot.config import Settings
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.errors import InvalidInput, PermissionDenied, QuorumError
from bot.logs import log_context
from bot.metrics import command_finished
from bot.rules.permissions import effective_roles, is_chair
from bot.services import Services

log = logging.getLogger("quorum.commands")

MentionResolver = Callable[[str], str]
# ok: answered; refused: the member's mistake or missing right, answered with how to fix it; error: our bug.
CommandOutcome = Literal["ok", "refused", "error"]
# The command label of text that named no command, or not in a form the grammar reads.
UNPARSED = "(unparsed)"


def console_mention(workspace_id: str) -> MentionResolver:
    """``@bob`` names the console member ``console:bob``; a full member id is taken as it is."""

    def resolve(raw: str) -> str:
        name = raw.lstrip("@").strip()
        if not name:
            raise InvalidInput("Mention a member by name, for example @alice.")
        if name.startswith(("console:", "slack:", "discord:")):
            return name
        return f"console:{name}"

    return resolve


def make_actor(
    settings: Settings,
    *,
    workspace_id: str,
    platform: str,
    member_id: str,
    display_name: str,
    platform_roles: frozenset[str] = frozenset(),
    platform_timezone: str | None = None,
    channel_id: str | None = None,
    roles_reported: bool = True,
) -> Actor:
    roles = effective_roles(platform_roles, settings.config_roles_of(member_id))
    return Actor(
        workspace_id=workspace_id, member_id=member_id, display_name=display_name, platform=platform,
        platform_roles=frozenset(platform_roles), roles=roles, is_chair=is_chair(roles, settings.chair_roles),
        platform_timezone=platform_timezone, channel_id=channel_id, roles_reported=roles_reported,
    )


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    services: Services
    registry: Registry
    resolve_member: MentionResolver

    @property
    def settings(self) -> Settings:
        return self.services.settings


class Dispatcher:
    def __init__(self, services: Services, registry: Registry = REGISTRY) -> None:
        self.services = services
        self.registry = registry

    async def run_text(self, text: str, actor: Actor, resolve_member: MentionResolver | None = None) -> Reply:
        started = time.perf_counter()
        try:
            parsed = grammar.parse(text, self.registry)
        except QuorumError as exc:
            # Under one name: what members mistype must not become a new metric series each time.
            command_finished(UNPARSED, "refused", time.perf_counter() - started)
            return Reply.error(exc.message)
        return await self._run(parsed.command, parsed.args, actor, resolve_member)

    async def run(
        self, command: Command, raw: Mapping[str, str], actor: Actor, resolve_member: MentionResolver | None = None
    ) -> Reply:
        """Run with option values already split by the platform (Discord)."""
        started = time.perf_counter()
        try:
            args = grammar.convert(command, raw)
        except QuorumError as exc:
            command_finished(command.name, "refused", time.perf_counter() - started)
            return Reply.error(exc.message)
        return await self._run(command, args, actor, resolve_member)

    async def _run(
        self, command: Command, args: dict[str, Any], actor: Actor, resolve_member: MentionResolver | None
    ) -> Reply:
        started = time.perf_counter()
        with log_context(workspace=actor.workspace_id, command=command.name):
            reply, outcome = await self._run_logged(command, args, actor, resolve_member)
        command_finished(command.name, outcome, time.perf_counter() - started)
        return reply

    async def _run_logged(
        self, command: Command, args: dict[str, Any], actor: Actor, resolve_member: MentionResolver | None
    ) -> tuple[Reply, CommandOutcome]:
        context = CommandContext(actor, self.services, self.registry,
                                 resolve_member or console_mention(actor.workspace_id))
        try:
            if command.chair_only and not actor.is_chair:
                roles = " or ".join(self.services.settings.chair_roles)
                raise PermissionDenied(
                    f"/{command.name} is for chairs ({roles}): ask a chair to run it, or ask an admin for the role."
                )
            await self.services.members.touch(actor)
            reply = await command.handler(context, args)
            return reply, "ok" if reply.ok else "refused"
        except QuorumError as exc:
            return Reply.error(exc.message), "refused"
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("command /%s failed (error id %s, workspace %s, member %s)",
                          command.name, error_id, actor.workspace_id, actor.member_id)
            return Reply.error(
                f"Sorry, something went wrong on our side and nothing was changed (error id {error_id}). "
                "Please try again; if it keeps happening, give the id to your admin.",
                error_id=error_id,
            ), "error"
