"""Block Kit renderings of a ``Reply``: text sections, fields, each reader's own time for every moment
(``<!date^...>``), buttons, and the App Home view. Slack's limits are respected here (3000 characters a
section, 10 fields a section, 25 elements an actions block, 50 blocks a message) so a long agenda is
split rather than rejected."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.adapters.text import split_at_lines
from bot.contracts.reply import Button, Reply, labelled
from bot.rules.member_text import neutralise

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3900
ACTION_PREFIX = "quorum:"
PROMPT_CALLBACK = "quorum_prompt"


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup; user text must not become a mention or a link. The
    neutralising every platform shares (no direction overrides, no @here) comes first."""
    return neutralise(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def local_time(moment: datetime) -> str:
    """Each reader sees the instant in their own Slack time zone; the fallback is UTC."""
    unix = int(moment.astimezone(UTC).timestamp())
    fallback = moment.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M UTC")
    return f"<!date^{unix}^{{date_long_pretty}} {{time}}|{fallback}>"


def button_element(button: Button) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
        "action_id": (ACTION_PREFIX + button.id)[:255],
        # The action text runs as the member who clicks; the prompt (if any) is asked for first.
        "value": json.dumps({"a": button.action, "p": button.prompt}, ensure_ascii=False)[:2000],
    }
    if button.style in ("primary", "danger"):
        element["style"] = button.style
    return element


def parse_button_value(value: str) -> tuple[str, str | None]:
    """(action text, prompt) from a button's value."""
    try:
        raw = json.loads(value)
    except ValueError:
        return value, None
    if isinstance(raw, dict) and isinstance(raw.get("a"), str):
        prompt = raw.get("p")
        return raw["a"], prompt if isinstance(prompt, str) and prompt else None
    return value, None


def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.title:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": neutralise(reply.title)[:150]}})
    text = reply.text if reply.ok else f":warning: {reply.text}"
    for chunk in split_at_lines(escape(text), SECTION_LIMIT):
        if chunk.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    if reply.moments:
        times = labelled(reply.moments[:10], reply.moment_labels, local_time)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Your time: {times}"}]})
    fields = [{"type": "mrkdwn", "text": f"*{escape(f.name)}*\n{escape(f.value)}"[:FIELD_LIMIT]}
              for f in reply.fields]
    for start in range(0, len(fields), 10):
        blocks.append({"type": "section", "fields": fields[start:start + 10]})
    elements = [button_element(b) for b in reply.buttons]
    for start in range(0, len(elements), 25):
        blocks.append({"type": "actions", "elements": elements[start:start + 25]})
    if len(blocks) > MAX_BLOCKS:
        # Keep the buttons (they are the point of a vote message) and cut the text.
        tail = [b for b in blocks if b["type"] == "actions"][-5:]
        head = [b for b in blocks if b["type"] != "actions"][: MAX_BLOCKS - len(tail) - 1]
        blocks = [*head, {"type": "context", "elements": [{"type": "mrkdwn", "text": "(shortened)"}]}, *tail]
    return blocks


def fallback_text(reply: Reply) -> str:
    """The notification and screen-reader text; Slack wants one next to blocks."""
    text = reply.as_plain_text().split("\nActions: ")[0]
    # Slack reads this text for notifications too: escaped like the blocks, so a title cannot ping.
    return escape(text)[:FALLBACK_LIMIT]


def message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / respond."""
    return {"text": fallback_text(reply), "blocks": reply_blocks(reply)}


def prompt_modal(prompt: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The modal asking for the text a button needs before it runs (e.g. a veto's reason)."""
    return {
        "type": "modal",
        "callback_id": PROMPT_CALLBACK,
        "private_metadata": json.dumps(metadata)[:3000],
        "title": {"type": "plain_text", "text": "Quorum"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input", "block_id": "answer",
            "label": {"type": "plain_text", "text": prompt[:2000]},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 1000},
        }],
    }


def home_view(sections: Iterable[tuple[str, Reply]]) -> dict[str, Any]:
    """The App Home tab: a header and the rendering of each section's reply."""
    blocks: list[dict[str, Any]] = []
    for heading, reply in sections:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": heading[:150]}})
        blocks.extend(b for b in reply_blocks(reply) if b["type"] != "actions" or reply.ok)
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks[:100]}
