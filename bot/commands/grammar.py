"""The text grammar shared by Slack and the console: words separated by spaces, ``"quoted strings"``
for text with spaces, ``key=value`` options, ``@name`` or a platform mention for a member, ``#id`` for
an item or a vote. Parsing never raises anything but ``InvalidInput``."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.commands.options import Option, Token
from bot.commands.registry import REGISTRY, Command, Registry
from bot.errors import InvalidInput

MAX_COMMAND_LENGTH = 4000
_QUOTES = {'"': '"', "“": "”", "”": "”"}


def refuse_control_characters(text: str) -> None:
    """Text that members type is stored and repeated: a NUL (which PostgreSQL cannot store in text) or
    another control character is refused here, where every command's text enters, on every database.
    Tabs and line breaks are spaces between words, not refused."""
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
            raise InvalidInput(f"The command has an invisible control character (U+{ord(char):04X}) at character "
                               f"{position}: remove it (retype that part) and try again.")


def tokenize(text: str) -> list[Token]:
    """Split on spaces outside quotes. ``key="a b"`` stays one token with the quotes removed."""
    refuse_control_characters(text)
    if len(text) > MAX_COMMAND_LENGTH:
        raise InvalidInput(
            f"That command is {len(text)} characters long: keep it under {MAX_COMMAND_LENGTH} and put the "
            "details behind a link."
        )
    tokens: list[Token] = []
    current: list[str] = []
    quoted = False
    in_quote: str | None = None
    started = False
    for char in text:
        if in_quote is not None:
            if char == in_quote:
                in_quote = None
            else:
                current.append(char)
            continue
        if char in _QUOTES:
            in_quote = _QUOTES[char]
            quoted = True
            started = True
            continue
        if char.isspace():
            if started:
                tokens.append(Token("".join(current), quoted))
            current, quoted, started = [], False, False
            continue
        current.append(char)
        started = True
    if in_quote is not None:
        raise InvalidInput(
            "A quote is not closed: put a closing \" after the text, for example "
            '/agenda add "Release plan" https://example.org/rfc/1.'
        )
    if started:
        tokens.append(Token("".join(current), quoted))
    return tokens


def _split_keyword(token: Token) -> tuple[str, str] | None:
    """``key=value`` (the key a plain identifier), else None. Links containing '=' stay positional."""
    if token.quoted and not token.text.split("=", 1)[0].isidentifier():
        return None
    key, sep, value = token.text.partition("=")
    if not sep or not key.isidentifier() or "://" in key:
        return None
    return key.lower(), value


@dataclass(frozen=True)
class Parsed:
    command: Command
    args: dict[str, Any]


def resolve_command(tokens: list[Token], registry: Registry = REGISTRY) -> tuple[Command, list[Token]]:
    words = [t.text.lstrip("/") if i == 0 else t.text for i, t in enumerate(tokens)]
    if not words or not words[0]:
        raise InvalidInput("Type a command, for example /meeting next; /quorum help lists them all.")
    command, length = registry.longest_match(words)
    if command is None or any(t.quoted for t in tokens[:length]):
        return _unknown(words, registry)
    return command, tokens[length:]


def _unknown(words: list[str], registry: Registry) -> tuple[Command, list[Token]]:
    group = words[0].lower()
    if group in registry.groups():
        options = [c.path[1:] for c in registry.in_group(group)]
        names = sorted({" ".join(p) for p in options if p})
        typed = " ".join(words[1:3]).lower()
        close = difflib.get_close_matches(typed, names, n=1, cutoff=0.5)
        hint = f" Did you mean /{group} {close[0]}?" if close else ""
        sub = words[1] if len(words) > 1 else ""
        raise InvalidInput(
            f"/{group} {sub} is not a command.{hint} /{group} takes: {', '.join(names)}; "
            f"see /quorum help {group}."
        )
    close = difflib.get_close_matches(group, registry.groups(), n=1, cutoff=0.5)
    hint = f" Did you mean /{close[0]}?" if close else ""
    raise InvalidInput(f"/{words[0]} is not a command.{hint} Type /quorum help to see them all.")


def bind(command: Command, tokens: list[Token]) -> dict[str, Any]:
    """Match words to the command's options: ``key=value`` by name, the rest in order by shape."""
    raw: dict[str, str] = {}
    positional: list[Token] = []
    for token in tokens:
        keyword = _split_keyword(token)
        if keyword is None:
            positional.append(token)
            continue
        key, value = keyword
        option = command.option(key)
        if option is None:
            known = ", ".join(f"{o.name}=" for o in command.options) or "no options"
            raise InvalidInput(f"/{command.name} has no option '{key}': it takes {known}. "
                               f"Usage: {command.usage()}")
        if key in raw:
            raise InvalidInput(f"{key}= is given twice: give it once.")
        raw[key] = value
    pending = [o for o in command.positional_options() if o.name not in raw]
    bare_text: tuple[Option, int] | None = None  # quoted text given as a bare word: maybe the first of several
    for index, token in enumerate(positional):
        if pending and pending[0].greedy:
            raw[pending.pop(0).name] = " ".join(t.text for t in positional[index:])
            break
        while pending and not pending[0].accepts(token):
            pending.pop(0)
        if bare_text is not None and (not pending or not replace(pending[0], required=False).accepts(token)):
            # `/agenda add Release plan <link>`: the next word fits nothing, or not the shape of what comes next.
            raise _unquoted(command, *bare_text, positional)
        if not pending:
            raise InvalidInput(f"I don't know what '{token.text[:60]}' is for in /{command.name}. "
                               f"Usage: {command.usage()}")
        option = pending.pop(0)
        if option.quoted_text and not token.quoted and bare_text is None:
            bare_text = (option, index)
        raw[option.name] = token.text
    return convert(command, raw)


def _unquoted(command: Command, option: Option, start: int, positional: list[Token]) -> InvalidInput:
    """Several bare words where one quoted text was meant: say so, with the words quoted."""
    words = []
    for token in positional[start:]:
        if token.quoted or "://" in token.text or token.text.startswith(("@", "#", "<")):
            break
        words.append(token.text)
    before = "".join(f"{token.text} " for token in positional[:start])
    return InvalidInput(f"Put the {option.noun} in quotes when it has several words, for example "
                        f"/{command.name} {before}\"{' '.join(words)[:80]}\". Usage: {command.usage()}")


def convert(command: Command, raw: Mapping[str, str]) -> dict[str, Any]:
    """Parse raw string values into typed values and check required options. Shared with adapters
    whose platform delivers options already split (Discord)."""
    for value in raw.values():
        if value is not None:
            refuse_control_characters(str(value))
    args: dict[str, Any] = {}
    for option in command.options:
        if option.name in raw and raw[option.name] is not None:
            args[option.name] = option.parse(str(raw[option.name]))
        elif option.required:
            raise InvalidInput(
                f"/{command.name} needs {option.placeholder or option.name} "
                f"({option.help.rstrip('.')}). Usage: {command.usage()}"
            )
    unknown = set(raw) - {o.name for o in command.options}
    if unknown:
        raise InvalidInput(f"/{command.name} has no option '{sorted(unknown)[0]}'. Usage: {command.usage()}")
    return args


def parse(text: str, registry: Registry = REGISTRY) -> Parsed:
    tokens = tokenize(text.strip())
    command, rest = resolve_command(tokens, registry)
    return Parsed(command, bind(command, rest))
