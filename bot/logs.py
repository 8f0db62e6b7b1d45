"""Logging set-up.

A filter replaces every configured secret with ``[redacted]`` in every record, so a token that reaches a
message or a traceback by accident still never reaches the log. Another adds what is being done when the
record is made (the workspace, the command and a request id, bound with ``log_context``), so the lines of
one command can be found together. ``QUORUM_LOG_FORMAT=json`` writes one JSON object per line."""

from __future__ import annotations

import logging
import secrets as token_source
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from pythonjsonlogger.json import JsonFormatter

from bot.config import LogFormat, Secrets

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class LogContext:
    workspace: str | None = None
    command: str | None = None
    request_id: str | None = None


NOTHING_BOUND = LogContext()  # frozen: safe to share as the default
_context: ContextVar[LogContext] = ContextVar("quorum_log_context", default=NOTHING_BOUND)


@contextmanager
def log_context(*, workspace: str | None = None, command: str | None = None,
                request_id: str | None = None) -> Iterator[str]:
    """Within the block (and the tasks it starts), records carry these fields; unnamed ones keep the outer
    block's values. Yields the request id, a new one unless given or already bound."""
    outer = _context.get()
    bound = replace(outer, workspace=workspace or outer.workspace, command=command or outer.command,
                    request_id=request_id or outer.request_id or token_source.token_hex(6))
    token = _context.set(bound)
    try:
        yield bound.request_id or ""
    finally:
        _context.reset(token)


class AddContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        record.workspace = context.workspace
        record.command = context.command
        record.request_id = context.request_id
        return True


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        # Short values would redact ordinary words; no real token is this short.
        self._values = [value for _, value in secrets.present() if len(value) >= 6]

    def _clean(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._values:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = ()
        if record.exc_info:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def json_formatter() -> logging.Formatter:
    """time, level, logger, message, then workspace, command and request_id (null outside a command), and
    ``exc_info`` with the traceback when there is one."""
    return JsonFormatter(
        ["asctime", "levelname", "name", "message", "workspace", "command", "request_id"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure_logging(level: str, secrets: Secrets, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(AddContext())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
