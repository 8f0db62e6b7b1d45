"""A vote's live message, posted by an adapter as a command's answer: the adapter records where it
went, so the vote's close redraws that message as the result."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.contracts.reply import Reply

log = logging.getLogger("quorum.adapters")


class VoteMessages(Protocol):
    async def remember_message(self, workspace_id: str, vote_id: int, message_ref: str) -> object: ...


def live_vote_id(reply: Reply) -> int | None:
    """The vote whose live message this reply is, when it is posted for everyone to see (``/vote
    status`` shows the same message privately: that copy is not recorded)."""
    return None if reply.ephemeral else reply.live_vote


async def remember_live_vote(votes: VoteMessages, workspace_id: str, vote_id: int,
                             posted_ref: Callable[[], Awaitable[str]]) -> None:
    """Record the posted message (``posted_ref`` finds the platform's reference to it). The answer is
    out either way, so a failure is logged, and the message is redrawn at the next click instead."""
    try:
        await votes.remember_message(workspace_id, vote_id, await posted_ref())
    except Exception:
        log.exception("could not record the message of vote #%s", vote_id)
