"""What the services need from GitHub, in neutral types: the adapter (bot/adapters/github/) implements
``GitHubReader`` with a real client; services never import it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class LabelledIssue:
    """An open issue or pull request carrying a series' label, and when (and by whom) the label was
    last added: the moment the 24-hour rule applies to."""

    repo: str  # owner/name as configured
    number: int
    title: str
    url: str  # its html_url
    labelled_at: datetime
    labelled_by: str | None  # the GitHub login that added the label


class GitHubUnavailable(Exception):
    """GitHub did not answer usefully (down, rate-limited, not found). The message names the cause and
    never holds the token."""


class GitHubReader(Protocol):
    async def labelled(self, repo: str, label: str) -> list[LabelledIssue]:
        """The open issues and PRs of ``repo`` carrying ``label`` (conditional requests: an unchanged
        listing costs no rate limit). Raises ``GitHubUnavailable``."""
        ...

    async def title(self, repo: str, number: int) -> str:
        """The title of issue or PR ``number``. Raises ``GitHubUnavailable``."""
        ...
