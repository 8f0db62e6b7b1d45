"""Validation of the links attached to agenda items and votes."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.errors import InvalidInput
from bot.rules.member_text import strip_bidi

MAX_LINK_LENGTH = 500
MAX_TITLE_LENGTH = 200


def clean_link(text: str) -> str:
    """A link as typed or as a platform sends it: Slack wraps links in ``<...>``."""
    return text.strip().strip("<>")


def validate_link(text: str, allowed_hosts: tuple[str, ...] = ()) -> str:
    link = clean_link(text)
    if len(link) > MAX_LINK_LENGTH:
        raise InvalidInput(f"That link is {len(link)} characters long: links may be at most {MAX_LINK_LENGTH}.")
    try:
        parts = urlsplit(link)
    except ValueError as exc:
        raise InvalidInput(f"'{link[:80]}' is not a valid link: give a full http:// or https:// URL.") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"'{link[:80]}' is not a web link: give a full http:// or https:// URL, for example "
            "https://github.com/org/repo/issues/1."
        )
    if any(ch.isspace() for ch in link):
        raise InvalidInput("Links cannot contain spaces: copy the address from the browser's address bar.")
    host = parts.hostname.lower()
    if allowed_hosts and not any(host == h or host.endswith("." + h) for h in allowed_hosts):
        raise InvalidInput(
            f"Links to {host} are not accepted in this series: use a link on {', '.join(allowed_hosts)}."
        )
    return link


def validate_title(text: str, what: str = "title") -> str:
    """Typed text (every text option goes through here): one line, and no direction overrides."""
    title = " ".join(strip_bidi(text).split())
    if not title:
        example = '"Release plan for 0.9"' if what == "title" else f'"your {what} here"'
        raise InvalidInput(f"The {what} is empty: put it in quotes, for example {example}.")
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidInput(
            f"The {what} is {len(title)} characters long: keep it to {MAX_TITLE_LENGTH} and put the details "
            "behind the link."
        )
    return title


def normalize_link(link: str) -> str:
    """The form used to detect duplicate links: http and https, host case, a trailing slash and the
    #fragment do not make a link different; the path and query do."""
    parts = urlsplit(link)
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{(parts.hostname or '').lower()}{path}{query}"
