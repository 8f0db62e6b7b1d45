"""Action buttons: each button's custom id holds the command text it runs (``quorum:a:vote cast #3
+1``), so a click on a message posted before a restart still works: ``ActionButton`` is registered
with ``Client.add_dynamic_items`` and rebuilt from the id. ``quorum:p:`` buttons ask for text first."""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

import discord

from bot.contracts.reply import Button, Reply

log = logging.getLogger("quorum.discord")

CUSTOM_ID_LIMIT = 100
BUTTON_TEMPLATE = r"quorum:(?P<mode>[ap]):(?P<action>.+)"
STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
          "danger": discord.ButtonStyle.danger, "success": discord.ButtonStyle.success}


class ActionRunner(Protocol):
    """What a click needs from the client's interaction handler."""

    async def run_action(self, interaction: discord.Interaction, action: str) -> None: ...

    async def ask_then_run(self, interaction: discord.Interaction, action: str, custom_id: str,
                           label: str | None) -> None: ...


def button_custom_id(button: Button) -> str | None:
    custom_id = f"quorum:{'p' if button.prompt else 'a'}:{button.action}"
    return custom_id if len(custom_id) <= CUSTOM_ID_LIMIT else None


def build_view(reply: Reply, prompts: dict[str, str] | None = None) -> discord.ui.View | None:
    """A persistent view (no timeout) of the reply's buttons; None when it has none. ``prompts``
    collects the prompt of each button that asks for text, keyed by custom id."""
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in reply.buttons[:25]:
        custom_id = button_custom_id(button)
        if custom_id is None:
            log.warning("button %r dropped: its action is too long for a Discord custom id", button.label)
            continue
        if button.prompt and prompts is not None:
            prompts[custom_id] = button.prompt
        view.add_item(ActionButton(custom_id, button.label, button.style))
    return view


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_TEMPLATE):
    def __init__(self, custom_id: str, label: str, style: str = "secondary") -> None:
        super().__init__(discord.ui.Button(label=label[:80], custom_id=custom_id,
                                           style=STYLES.get(style, discord.ButtonStyle.secondary)))
        found = re.fullmatch(BUTTON_TEMPLATE, custom_id)
        assert found is not None
        self.action = found.group("action")
        self.asks = found.group("mode") == "p"

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> ActionButton:
        return cls(match.group(0), getattr(item, "label", None) or "Quorum")

    async def callback(self, interaction: discord.Interaction) -> None:
        runner: ActionRunner | None = getattr(interaction.client, "quorum", None)
        if runner is None:
            return
        if self.asks:
            await runner.ask_then_run(interaction, self.action, self.item.custom_id or "", self.item.label)
        else:
            await runner.run_action(interaction, self.action)
