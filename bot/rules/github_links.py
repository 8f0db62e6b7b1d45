"""Recognising links to GitHub issues and pull requests (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# https://github.com/<owner>/<repo>/(issues|pull)/<number>, with anything after it (#comments, /files).
_PATH = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9-]{0,38})/([A-Za-z0-9._-]{1,100})/(issues|pull)/([0-9]{1,9})(?:/.*)?$")


@dataclass(frozen=True)
class IssueRef:
    repo: str  # owner/name as written in the link
    number: int

    @property
    def target(self) -> str:
        """How an outbox row names it: ``owner/name#number``."""
        return f"{self.repo}#{self.number}"


def issue_ref(link: str, repositories: tuple[str, ...]) -> IssueRef | None:
    """The issue or PR a github.com link names, when its repository is one of ``repositories``
    (case-insensitive, as GitHub treats names); otherwise None."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in ("github.com", "www.github.com"):
        return None
    found = _PATH.match(parts.path)
    if found is None:
        return None
    repo = f"{found.group(1)}/{found.group(2)}"
    configured = {r.lower(): r for r in repositories}
    if repo.lower() not in configured:
        return None
    return IssueRef(configured[repo.lower()], int(found.group(4)))


def parse_target(target: str) -> IssueRef | None:
    """The inverse of ``IssueRef.target``."""
    repo, sep, number = target.rpartition("#")
    if not sep or "/" not in repo or not number.isdigit():
        return None
    return IssueRef(repo, int(number))
