"""The console's notifier: prints what would be sent (DMs, channel posts, updates) to its output
stream and logs it, so a console workspace shows every reminder and announcement."""

from __future__ import annotations

import json
import logging
import sys
from typing import TextIO

from bot.contracts.outbound import OutboundMessage

log = logging.getLogger("quorum.console")


class ConsoleNotifier:
    platform = "console"

    def __init__(self, out: TextIO | None = None, *, as_json: bool = False) -> None:
        self._out = out
        # ``quorum console --json --tick``: one JSON line per message, {"sent": {...}}, so a script can tell
        # them from the answers (which have "ok").
        self.as_json = as_json

    async def send(self, message: OutboundMessage) -> str | None:
        out = self._out or sys.stdout
        where = {"dm": f"DM to {message.target}",
                 "channel": f"post in {message.target or '(the series channel)'}",
                 "update": f"update of {message.target}"}.get(message.kind, message.kind)
        body = message.reply.as_plain_text()
        if self.as_json:
            out.write(json.dumps({"sent": {"key": message.key, "kind": message.kind, "target": message.target,
                                           "workspace": message.workspace_id, "title": message.reply.title,
                                           "text": message.reply.text, "data": message.reply.data}},
                                 ensure_ascii=False, default=str) + "\n")
        else:
            out.write(f"[{message.workspace_id}] {where}:\n{body}\n\n")
        out.flush()
        log.info("console %s (outbox %s): %s", where, message.key, body.splitlines()[0] if body else "")
        return f"console:{message.id}"
