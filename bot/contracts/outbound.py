"""The boundary between the outbox and the platforms: what an outbound message is, and what a
platform's notifier must do with it. Services write messages to the outbox; the dispatcher hands them
to the notifier of the workspace's platform (console, Discord, Slack)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from bot.contracts.reply import Reply

# "dm" (target: member id) | "channel" (target: channel id) | "update" (target: message ref)
# Posts on the community's public record, delivered by that service's notifier whatever the workspace's
# platform (docs/forum.md, docs/github.md):
# "forum_topic" (target: the topic's external id): open the topic, or edit its title and first post;
# "forum_post" (target: "ext:<external id>" or "id:<topic id>"): reply in the topic, or edit the reply
# carrying the same marker (``reply.data["marker"]``) when there is one;
# "github_comment" (target: "owner/repo#number"; the comment made, or edited, on that issue or PR).
OutboundKind = Literal["dm", "channel", "update", "forum_topic", "forum_post", "github_comment"]
OUTBOUND_KINDS: tuple[OutboundKind, ...] = get_args(OutboundKind)
# Kinds delivered by an outside service's notifier (by its ``platform`` name) rather than the workspace's
# chat platform: the dispatcher picks ``notifiers[SERVICE_OF_KIND[kind]]`` for these,
# ``notifiers[platform_of(workspace)]`` for the rest.
SERVICE_OF_KIND: dict[OutboundKind, str] = {"forum_topic": "forum", "forum_post": "forum", "github_comment": "github"}


@dataclass(frozen=True)
class OutboundMessage:
    id: int
    key: str  # idempotency key, unique across the outbox
    workspace_id: str
    kind: OutboundKind
    target: str
    reply: Reply
    # For "dm": the channel to mention the member in if their DMs are closed.
    fallback_channel: str | None = None


def outbound_kind(stored: str) -> OutboundKind | None:
    """The kind of a stored outbox row, None for one no notifier knows (given up on, not sent)."""
    return next((kind for kind in OUTBOUND_KINDS if kind == stored), None)


class DeliveryError(Exception):
    """Sending failed. ``transient`` failures are retried with backoff; others are recorded and given up."""

    def __init__(self, message: str, *, transient: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.retry_after = retry_after


class DirectMessagesClosed(DeliveryError):
    """The member does not accept direct messages from the bot: fall back to a channel mention."""

    def __init__(self, message: str = "direct messages are closed") -> None:
        super().__init__(message, transient=False)


class Notifier(Protocol):
    platform: str  # "console" | "discord" | "slack" | "forum" | "github"

    async def send(self, message: OutboundMessage) -> str | None:
        """Deliver the message; return the platform's reference to the posted message (for later
        updates), or None. Raise ``DeliveryError`` (or ``DirectMessagesClosed``) on failure."""
        ...


class RoleDirectory(Protocol):
    """A platform's listing of who holds a role, used to snapshot a vote's electorate at opening."""

    async def holders(self, workspace_id: str, role: str) -> dict[str, str] | None:
        """Member id -> display name of everyone holding ``role``; None when the platform cannot list it."""
        ...

    async def names(self, workspace_id: str, member_ids: Sequence[str]) -> dict[str, str]:
        """Member id -> display name of those members the platform can find (the rest are left out):
        for members Quorum knows only from the config, who have not used the bot yet."""
        ...
