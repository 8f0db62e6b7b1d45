"""Text helpers shared by the platform adapters."""

from __future__ import annotations


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
