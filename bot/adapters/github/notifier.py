"""Delivers the outbox's ``github_comment`` rows: the minutes of one agenda item as one comment on its
issue or pull request, edited (never doubled) when the minutes are published again."""

from __future__ import annotations

from bot.adapters.github.client import GitHubClient
from bot.contracts.outbound import DeliveryError, OutboundMessage
from bot.rules.github_links import parse_target


class GitHubNotifier:
    platform = "github"

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    async def send(self, message: OutboundMessage) -> str | None:
        if message.kind != "github_comment":
            raise DeliveryError(f"the GitHub notifier does not send '{message.kind}' messages", transient=False)
        ref = parse_target(message.target)
        marker = message.reply.data.get("marker")
        if ref is None or not isinstance(marker, str):
            raise DeliveryError(f"'{message.target}' is not an issue (owner/repo#number) with a marker",
                                transient=False)
        known = message.reply.data.get("comment_id")
        return await self.client.upsert_comment(ref.repo, ref.number, message.reply.text, marker,
                                                known if isinstance(known, str) else None)
