"""The console adapter: commands from standard input, one per line, answered as one member.

It is how people try Quorum without Discord or Slack, and how end-to-end tests drive it."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import TextIO

from bot.commands.dispatcher import Dispatcher, make_actor
from bot.config import Settings
from bot.contracts.actor import Actor, platform_of
from bot.contracts.reply import Reply, labelled
from bot.rules.time import format_for_member


def console_actor(settings: Settings, workspace: str, user: str, roles: Iterable[str],
                  channel: str | None = None) -> Actor:
    """The member typing; ``channel`` is the channel they type in (a series' channel picks that series)."""
    member_id = user if user.startswith(("console:", "slack:", "discord:")) else f"console:{user}"
    display = user.split(":")[-1]
    return make_actor(settings, workspace_id=workspace, platform=platform_of(workspace),
                      member_id=member_id, display_name=display, platform_roles=frozenset(roles),
                      channel_id=channel)


async def with_own_times(dispatcher: Dispatcher, actor: Actor, reply: Reply) -> Reply:
    """Discord and Slack show each reader's own time of a reply's moments (``<t:…>``, ``<!date^…>``); a
    text reply cannot, so a member who set ``/me tz`` gets a line with them in their zone, next to the
    home-zone times already in the text."""
    if not reply.moments or not reply.ok:
        return reply
    member = await dispatcher.services.members.get(actor.workspace_id, actor.member_id)
    zone = member.timezone if member is not None else None
    if not zone:
        return reply
    times = labelled(reply.moments, reply.moment_labels, lambda moment: format_for_member(moment, zone))
    return replace(reply, text=f"{reply.text}\nYour time: {times}")


def render(reply: Reply, as_json: bool) -> str:
    if as_json:
        return json.dumps({"ok": reply.ok, "text": reply.as_plain_text(), "ephemeral": reply.ephemeral,
                           "data": reply.json_data()}, ensure_ascii=False, default=str)
    prefix = "" if reply.ok else "Error: "
    return prefix + reply.as_plain_text()


async def run_console(
    dispatcher: Dispatcher, actor: Actor, lines: Iterable[str], out: TextIO = sys.stdout, *, as_json: bool = False,
    after_each: Callable[[], Awaitable[object]] | None = None,
) -> int:
    """Answer each non-empty line; returns how many commands failed. ``after_each`` runs after each
    answer is written (``--tick``: send what the command put in the outbox, e.g. published minutes)."""
    failures = 0
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):  # blank lines and comments
            continue
        reply = await with_own_times(dispatcher, actor, await dispatcher.run_text(text, actor))
        failures += 0 if reply.ok else 1
        out.write(render(reply, as_json) + "\n")
        if not as_json:
            out.write("\n")
        out.flush()
        if after_each is not None:
            await after_each()
    return failures
