"""Logging set-up. A filter replaces every configured secret with ``[redacted]`` in every record,
so a token that reaches a message or a traceback by accident still never reaches the log."""

from __future__ import annotations

import logging

from bot.config import Secrets


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self._values = [v for v in (secrets.discord_token, secrets.slack_bot_token, secrets.slack_signing_secret,
                                    secrets.slack_app_token, secrets.discourse_api_key) if v and len(v) >= 6]

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


def configure_logging(level: str, secrets: Secrets) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
