"""Pure rules of the community's forum record (docs/forum.md): which links are forum topics, the
external ids that make a topic exactly-once at the forum, when a meeting's topic opens, the pre-RFC
rule, and how member text is made harmless in forum markdown."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.rules.member_text import ZERO_WIDTH_SPACE, escape_markdown, strip_bidi

# Discourse limits ``external_id`` to 50 characters.
MAX_EXTERNAL_ID = 50
_TOPIC_PATH = re.compile(r"^/t/(?:[^/]+/)?(\d+)(?:/\d+)?/?$")


def topic_id_in(link: str, forum_host: str | None) -> int | None:
    """The topic id of a link to a topic on the configured forum (``/t/<slug>/<id>[/<post>]`` or
    ``/t/<id>``); None for any other link."""
    if not forum_host:
        return None
    parts = urlsplit(link)
    if (parts.hostname or "").lower() != forum_host.lower():
        return None
    found = _TOPIC_PATH.match(parts.path)
    return int(found.group(1)) if found else None


def _bounded(text: str) -> str:
    if len(text) <= MAX_EXTERNAL_ID:
        return text
    return "quorum-" + hashlib.sha256(text.encode()).hexdigest()[: MAX_EXTERNAL_ID - 7]


def meeting_external_id(series_id: int, occurrence_key: str) -> str:
    """One topic per meeting: the series' database id and the occurrence's key (its local date)."""
    return _bounded(f"quorum-m{series_id}-{occurrence_key}")


def vote_external_id(vote_id: int) -> str:
    return _bounded(f"quorum-v{vote_id}")


def topic_opens_at(starts_at: datetime, previous_done: datetime | None, lead: timedelta) -> datetime:
    """Right after the previous meeting is done with (it ended, or it was called off at its deadline), but
    never more than ``lead`` before this one."""
    earliest = starts_at - lead
    return earliest if previous_done is None else max(earliest, previous_done)


def eligible_from(published_at: datetime, published_before: timedelta) -> datetime:
    """The pre-RFC rule: a topic may go to a meeting that starts at or after this instant."""
    return published_at + published_before


def unmentioned(text: str) -> str:
    """No @mention on the forum, where ``@name`` notifies any user (not only @everyone): a zero-width space
    after every ``@``; and no direction tricks."""
    return strip_bidi(text).replace("@", "@" + ZERO_WIDTH_SPACE)


def neutral(text: str) -> str:
    """Member text repeated in a forum post, on one line: Markdown and HTML shown literally (the shared
    ``escape_markdown``), no @mention."""
    return unmentioned(escape_markdown(" ".join(text.split())))
