"""Text helpers shared by the platform adapters."""

from __future__ import annotations

import re


def split_at_lines(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, split at line ends where possible so that a
    line is only cut when it is longer than a piece. Joining the pieces with newlines gives ``text``
    back, except that a line longer than ``size`` is cut without one."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:size])
            line = line[size:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > size:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def quoted(text: str) -> str:
    """A modal's answer as one quoted word of the command grammar. The grammar has no escapes, so
    quotes inside become apostrophes; line breaks and runs of blanks become single spaces, since the
    answer is shown on one line (a veto's reason in the vote message)."""
    cleaned = re.sub(r"[\"“”]", "'", " ".join(text.split()))
    return f'"{cleaned}"'


def with_answer(action: str, answer: str) -> str:
    """A prompted button's action with the text typed into its form, quoted."""
    return f"{action} {quoted(answer)}"


def with_answer_if_any(action: str, answer: str) -> str:
    """Like ``with_answer``, but a blank answer adds nothing, so the command says what it needs (a
    consensus veto: a reason) instead of refusing an empty quoted word. Slack's form lets a member send
    blanks; Discord's requires text, and sends blanks as an empty quoted word."""
    return with_answer(action, answer) if answer.strip() else action
