"""Typed command options: how a value is recognised among positional words, and how it is parsed.

The text grammar and the Discord app-command tree both use these, so the platforms cannot drift."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.errors import InvalidInput
from bot.rules.links import validate_link, validate_title
from bot.rules.parsing import (
    parse_date,
    parse_duration,
    parse_local_datetime,
    parse_time,
    parse_weekday,
    parse_zone,
    parse_zone_list,
)


class Kind(Enum):
    TEXT = "text"          # free text, quoted when it has spaces
    WORD = "word"          # a single word
    LINK = "link"          # http(s) URL
    DATE = "date"          # YYYY-MM-DD
    DATETIME = "datetime"  # YYYY-MM-DDTHH:MM (wall time; zone given separately)
    TIME = "time"          # HH:MM
    ZONE = "zone"          # IANA zone name
    ZONES = "zones"        # comma-separated IANA zone names
    DURATION = "duration"  # 72h, 90m, 3d
    INT = "int"
    WEEKDAY = "weekday"
    CHOICE = "choice"
    MEMBER = "member"      # @name or a platform mention
    REF = "ref"            # #12
    SLUG = "slug"          # a series slug
    BOOL = "bool"          # yes/no


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_REF = re.compile(r"^#?(\d{1,9})$")
_DATE_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_DATETIME_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[T ]")
_TRUE = {"yes", "true", "on", "1", "y"}
_FALSE = {"no", "false", "off", "0", "n"}


@dataclass(frozen=True)
class Token:
    """A word of the text grammar. ``quoted`` words are never taken as options or references."""

    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Option:
    name: str
    kind: Kind
    help: str
    required: bool = False
    positional: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # What Discord should autocomplete this option from: series | agenda_item | vote | open_vote | swap
    autocomplete: str | None = None
    placeholder: str | None = None  # shown in usage, e.g. <title>
    # Takes every remaining positional word (``/quorum help agenda add``).
    greedy: bool = False

    @property
    def quoted_text(self) -> bool:
        """Free text that is written in quotes when it has spaces (a title, a note, a comment)."""
        return self.kind is Kind.TEXT or (self.placeholder or "").startswith('"')

    @property
    def noun(self) -> str:
        """What the member calls this value: ``"<note>"`` is a note."""
        return (self.placeholder or "").strip('"<>') or self.name

    def usage(self) -> str:
        shown = self.placeholder or f"<{self.name}>"
        if not self.positional:
            shown = f"{self.name}={self.placeholder or '..'}"
        return shown if self.required else f"[{shown}]"

    def accepts(self, token: Token) -> bool:
        """Whether a positional word could be meant for this option. A required option takes any word
        (and reports a precise error if it does not parse); an optional one only words of its shape."""
        if self.required:
            return True
        text = token.text
        if self.kind in (Kind.TEXT,):
            return True
        if token.quoted:
            return False
        match self.kind:
            case Kind.WORD:
                return True
            case Kind.LINK:
                return "://" in text or text.startswith("<http")
            case Kind.DATE:
                return bool(_DATE_SHAPE.match(text))
            case Kind.DATETIME:
                return bool(_DATETIME_SHAPE.match(text))
            case Kind.TIME:
                return ":" in text and not text.startswith("http")
            case Kind.ZONE:
                return "/" in text or text.upper() == "UTC"
            case Kind.ZONES:
                return "/" in text or text.upper().startswith("UTC")
            case Kind.DURATION:
                return bool(re.match(r"^\d+[dhm]", text))
            case Kind.INT:
                return text.lstrip("-").isdigit()
            case Kind.WEEKDAY:
                return text[:3].lower() in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            case Kind.CHOICE:
                return text.lower() in (c.lower() for c in self.choices)
            case Kind.MEMBER:
                return text.startswith("@") or text.startswith("<@")
            case Kind.REF:
                return text.startswith("#")
            case Kind.SLUG:
                return bool(_SLUG.match(text)) and not _DATE_SHAPE.match(text) and not text.isdigit()
            case Kind.BOOL:
                return text.lower() in _TRUE | _FALSE
        return False  # pragma: no cover

    def parse(self, raw: str) -> Any:
        """The typed value, or ``InvalidInput`` naming this option."""
        text = raw.strip()
        if self.kind is Kind.TEXT:
            return validate_title(text, self.name)
        if not text:
            if self.quoted_text:
                # `/notes add ""`: say what is empty in the member's words (the note), not the option's name.
                noun = self.noun
                raise InvalidInput(f"The {noun} is empty: write it in quotes, for example \"your {noun} here\".")
            raise InvalidInput(f"{self.name}= is empty: give a value, for example {self.example()}.")
        match self.kind:
            case Kind.WORD:
                return text
            case Kind.LINK:
                return validate_link(text)
            case Kind.DATE:
                return parse_date(text)
            case Kind.DATETIME:
                return parse_local_datetime(text)
            case Kind.TIME:
                return parse_time(text)
            case Kind.ZONE:
                return parse_zone(text).key
            case Kind.ZONES:
                return parse_zone_list(text)
            case Kind.DURATION:
                return parse_duration(text)
            case Kind.INT:
                return self._int(text)
            case Kind.WEEKDAY:
                return parse_weekday(text)
            case Kind.CHOICE:
                for choice in self.choices:
                    if text.lower() == choice.lower():
                        return choice
                raise InvalidInput(f"'{text}' is not a valid {self.name}: use {_or_list(self.choices)}.")
            case Kind.MEMBER:
                if not (text.startswith("@") or text.startswith("<@")) or len(text) < 2:
                    raise InvalidInput(f"'{text}' is not a member: mention them, for example @alice.")
                return text
            case Kind.REF:
                match = _REF.match(text)
                if not match:
                    raise InvalidInput(f"'{text}' is not a {self.name} number: write it like #12.")
                return int(match.group(1))
            case Kind.SLUG:
                if not _SLUG.match(text):
                    raise InvalidInput(
                        f"'{text}' is not a series name: series are named by a short slug of lowercase "
                        "letters, digits and dashes, for example community."
                    )
                return text
            case Kind.BOOL:
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise InvalidInput(f"{self.name}= takes yes or no, not '{text}'.")
        raise AssertionError(self.kind)  # pragma: no cover

    def _int(self, text: str) -> int:
        if not text.lstrip("-").isdigit():
            raise InvalidInput(f"{self.name}= must be a whole number, not '{text}'.")
        value = int(text)
        if self.minimum is not None and value < self.minimum:
            raise InvalidInput(f"{self.name}= must be at least {self.minimum}, not {value}.")
        if self.maximum is not None and value > self.maximum:
            raise InvalidInput(f"{self.name}= must be at most {self.maximum}, not {value}.")
        return value

    def example(self) -> str:
        examples: dict[Kind, str] = {
            Kind.TEXT: '"Release plan"', Kind.WORD: "word", Kind.LINK: "https://github.com/org/repo/issues/1",
            Kind.DATE: "2022-03-02", Kind.DATETIME: "2022-03-02T08:00", Kind.TIME: "08:00",
            Kind.ZONE: "Europe/Berlin", Kind.ZONES: "UTC,Europe/London", Kind.DURATION: "72h",
            Kind.INT: "5", Kind.WEEKDAY: "wed", Kind.CHOICE: "|".join(self.choices), Kind.MEMBER: "@alice",
            Kind.REF: "#12", Kind.SLUG: "community", Kind.BOOL: "yes",
        }
        return f"{self.name}={examples[self.kind]}" if not self.positional else examples[self.kind]


def _or_list(items: tuple[str, ...]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


Parser = Callable[[str], Any]
