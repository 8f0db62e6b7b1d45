"""Member text, neutralised wherever the bot repeats it. One module, so every place that shows what a
member typed (an agenda title, a reason, a note, a display name) does the same thing:

- ``strip_bidi``: bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the invisible
  direction marks are removed, so a title cannot make the text after it read backwards ("Trojan Source").
  Typed text loses them when it is read (``bot.rules.links.validate_title``, which every text option
  goes through); ``neutralise`` removes them again on the way out, for names the platforms send.
- ``defuse_mentions``: ``@everyone``, ``@here``, ``@channel`` and the mention markup of Discord (``<@id>``,
  ``<@&role>``, ``<#channel>``) and Slack (``<!here>``, ``<!subteam^...>``) get a zero-width space, so they
  show as typed but never notify. The bot's own mentions are added by the notifiers after this.
- ``escape_markdown``: for text placed in Markdown (the minutes): the characters that make emphasis,
  links, code, HTML or tables are backslash-escaped, and so is a leading ``#``, ``>``, ``-``, ``+`` or
  ``1.``, so a title cannot forge a heading or a list item of the minutes.

Platform escaping proper (HTML on the web page, Slack's ``&<>``) stays with each renderer; this is what
all of them share. Pure functions; no I/O."""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"

# Embeddings, overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI FSI PDI) and the marks (LRM RLM ALM).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# @everyone / @here / @channel as words (Discord and Slack notify everyone for these).
_MASS = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
# Discord <@id> <@!id> <@&id> <#id> </cmd:id>, Slack <@U..> <!here> <!channel> <!subteam^..> <#C..>.
_MARKUP = re.compile(r"<(?=[@#!/])")
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-]|\d+[.)])")


def strip_bidi(text: str) -> str:
    return _BIDI.sub("", text)


def defuse_mentions(text: str) -> str:
    text = _MASS.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)
    return _MARKUP.sub("<" + ZERO_WIDTH_SPACE, text)


def neutralise(text: str) -> str:
    """What every chat renderer applies to the text it sends: no direction tricks, no pings."""
    return defuse_mentions(strip_bidi(text))


def escape_markdown(text: str) -> str:
    """Member text as literal Markdown (one line or several); see the module docstring."""
    lines = []
    for line in strip_bidi(text).split("\n"):
        line = _MD_INLINE.sub(r"\\\1", line)
        line = _MD_LINE_START.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), line)
        lines.append(line)
    return "\n".join(lines)


def autolink(link: str) -> str:
    """A member's link in Markdown, as ``<url>`` (also a valid link destination: ``[text](<url>)``); a ``<``
    or ``>`` in it, which would end it early and let the rest forge markup, is percent-encoded."""
    return "<" + link.replace("<", "%3C").replace(">", "%3E") + ">"


def _escape_marker(marker: str) -> str:
    if marker[-1] in ".)":
        return marker[:-1] + "\\" + marker[-1]
    return "\\" + marker
