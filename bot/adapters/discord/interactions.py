"""Answering interactions: slash commands, autocomplete, action buttons and their modals.

Discord wants a first answer within 3 seconds. A command gets ``defer_after`` seconds to finish; if it
is still working then, the interaction is deferred (``thinking``, ephemeral) and the answer follows."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.buttons import build_view
from bot.adapters.discord.notifier import message_ref
from bot.adapters.discord.render import discord_actor, mention_resolver, render, render_parts, workspace_id
from bot.adapters.discord.tree import as_raw
from bot.adapters.live_vote import live_vote_id, remember_live_vote
from bot.adapters.text import with_answer
from bot.commands.dispatcher import Dispatcher
from bot.commands.registry import Command
from bot.contracts.actor import Actor
from bot.contracts.reply import Reply
from bot.errors import QuorumError

SUGGESTION_LIMIT = 25


class Interactions:
    """Everything the client does when a member uses a command or clicks a button."""

    def __init__(self, dispatcher: Dispatcher, client: discord.Client) -> None:
        self.dispatcher = dispatcher
        self.client = client
        self.settings = dispatcher.services.settings
        # Seconds a command may take before the interaction is deferred (tests set 0 to force it).
        self.defer_after = 1.5
        # Prompts of buttons this process rendered, keyed by custom id: the modal shows them. After a
        # restart a generic label is used (custom ids have room for the action, not for the prompt).
        self.prompts: dict[str, str] = {}

    # -- who and where ---------------------------------------------------------------------
    def workspace_of(self, interaction: discord.Interaction) -> str | None:
        """The guild's workspace; in a direct message, the one guild the bot serves (if only one)."""
        if interaction.guild_id is not None:
            return workspace_id(interaction.guild_id)
        config = self.settings.discord
        if config.guild_ids:
            guild_ids = set(config.guild_ids)
        elif config.holds_every_shard:
            guild_ids = {g.id for g in self.client.guilds}
        else:
            # Direct messages arrive on shard 0 only, and this replica's cache holds its shards' guilds,
            # not all of them: one guild here is not proof the bot serves only one.
            return None
        if len(guild_ids) == 1:
            return workspace_id(next(iter(guild_ids)))
        return None

    def actor_of(self, interaction: discord.Interaction, workspace: str) -> Actor:
        return discord_actor(self.settings, interaction.user, workspace, interaction.channel_id)

    def _where_error(self, interaction: discord.Interaction, command: Command | None) -> Reply | None:
        if command is not None and command.needs_roles and interaction.guild_id is None:
            return Reply.error(f"/{command.name} checks your server roles, so it works only in the server: "
                               "run it in a channel there.")
        if self.workspace_of(interaction) is None:
            return Reply.error("This direct message doesn't belong to one server: run the command in a channel "
                               "of the server it is about.")
        return None

    # -- slash commands --------------------------------------------------------------------
    async def run_command(self, interaction: discord.Interaction, command: Command,
                          values: Mapping[str, Any]) -> None:
        problem = self._where_error(interaction, command)
        if problem is not None:
            await interaction.response.send_message(**render(problem), ephemeral=True)
            return
        workspace = self.workspace_of(interaction)
        assert workspace is not None
        raw = {name: as_raw(option, values[name]) for option in command.options
               if (name := option.name) in values and values[name] is not None}
        work = asyncio.ensure_future(self.dispatcher.run(
            command, raw, self.actor_of(interaction, workspace), mention_resolver(interaction.guild)))
        await self._answer(interaction, work, component=False)

    # -- buttons ---------------------------------------------------------------------------
    async def run_action(self, interaction: discord.Interaction, action: str) -> None:
        """A button's (or modal's) command text, run as the member who clicked."""
        problem = self._where_error(interaction, None)
        if problem is None:
            command, _ = self.dispatcher.registry.longest_match(action.split())
            problem = self._where_error(interaction, command)
        if problem is not None:
            await interaction.response.send_message(**render(problem), ephemeral=True)
            return
        workspace = self.workspace_of(interaction)
        assert workspace is not None
        work = asyncio.ensure_future(self.dispatcher.run_text(
            action, self.actor_of(interaction, workspace), mention_resolver(interaction.guild)))
        await self._answer(interaction, work, component=True)

    async def ask_then_run(self, interaction: discord.Interaction, action: str, custom_id: str,
                           label: str | None) -> None:
        prompt = self.prompts.get(custom_id)
        await interaction.response.send_modal(PromptModal(self, action, label or "Quorum", prompt))

    # -- answering -------------------------------------------------------------------------
    async def _answer(self, interaction: discord.Interaction, work: asyncio.Future[Reply], *,
                      component: bool) -> Reply:
        done, _ = await asyncio.wait({work}, timeout=self.defer_after)
        deferred = not done
        if deferred:
            if component:
                await interaction.response.defer()
            else:
                await interaction.response.defer(thinking=True, ephemeral=True)
        reply = await work
        # A refused click can carry a refresh too: a vote that closed since its message was drawn.
        if component and reply.refresh is not None:
            updated = reply.refresh
            message = render(updated)
            message.pop("allowed_mentions", None)
            # None takes the buttons away (e.g. the vote closed).
            message["view"] = build_view(updated, self.prompts)
            if deferred:
                await interaction.edit_original_response(**message)
            else:
                await interaction.response.edit_message(**message)
            await interaction.followup.send(**render(reply), ephemeral=True)
            return reply
        # A long answer (minutes, a long agenda) comes whole, in several messages.
        out, *more = render_parts(reply, view=build_view(reply, self.prompts))
        sent: discord.Message | None = None
        if not deferred:
            await interaction.response.send_message(**_without_none(out), ephemeral=reply.ephemeral)
        elif component or not reply.ephemeral:
            if not component:
                # The "thinking" placeholder was ephemeral; a public answer replaces it.
                await interaction.delete_original_response()
            sent = await interaction.followup.send(**_without_none(out), ephemeral=reply.ephemeral, wait=True)
        else:
            out.pop("allowed_mentions", None)
            await interaction.edit_original_response(**out)
        for part in more:
            await interaction.followup.send(**_without_none(part), ephemeral=reply.ephemeral)
        vote_id = live_vote_id(reply)
        if vote_id is not None and not component:
            await self._remember_vote_message(interaction, vote_id, sent)
        return reply

    async def _remember_vote_message(self, interaction: discord.Interaction, vote_id: int,
                                     sent: discord.Message | None) -> None:
        """A vote's live message was just posted: record it, so the vote's close redraws it as the result."""
        workspace = self.workspace_of(interaction)
        channel_id = interaction.channel_id
        if workspace is None or channel_id is None:
            return

        async def posted_ref() -> str:
            message = sent or await interaction.original_response()
            return message_ref(channel_id, message.id)

        await remember_live_vote(self.dispatcher.services.votes, workspace, vote_id, posted_ref)

    # -- autocomplete ----------------------------------------------------------------------
    async def suggest(self, interaction: discord.Interaction, source: str,
                      current: str) -> list[app_commands.Choice[str]]:
        workspace = self.workspace_of(interaction)
        if workspace is None:
            return []
        typed = current.strip().lstrip("#").lower()
        try:
            if source == "series":
                rows = await self.dispatcher.services.meetings.list_series(workspace)
                return [app_commands.Choice(name=_name(f"{s.slug}: {s.name}"), value=s.slug) for s in rows
                        if typed in s.slug or typed in s.name.lower()][:SUGGESTION_LIMIT]
            if source == "agenda_item":
                return await self._agenda_items(workspace, typed)
            if source in ("vote", "open_vote"):
                return await self._votes(interaction, workspace, typed, open_only=source == "open_vote")
        except QuorumError:
            return []
        return []

    async def _agenda_items(self, workspace: str, typed: str) -> list[app_commands.Choice[str]]:
        services = self.dispatcher.services
        choices: list[app_commands.Choice[str]] = []
        for series in await services.meetings.list_series(workspace):
            try:
                view = await services.agenda.list(workspace, series.slug)
            except QuorumError:
                continue
            for item in view.agenda:
                label = f"#{item.number} {item.title} ({series.slug})"
                if typed in label.lower():
                    choices.append(app_commands.Choice(name=_name(label), value=f"#{item.number}"))
        return choices[:SUGGESTION_LIMIT]

    async def _votes(self, interaction: discord.Interaction, workspace: str, typed: str, *,
                     open_only: bool) -> list[app_commands.Choice[str]]:
        """Votes come from the ``vote list`` command's reply, so the suggestions show exactly what /vote
        list shows."""
        command = self.dispatcher.registry.get(("vote", "list"))
        if command is None:
            return []
        reply = await self.dispatcher.run(command, {}, self.actor_of(interaction, workspace))
        choices = []
        for vote in reply.votes if reply.ok else ():
            if open_only and not vote.is_open:
                continue
            label = f"#{vote.id} {vote.title}".strip()
            if typed in label.lower():
                choices.append(app_commands.Choice(name=_name(label), value=f"#{vote.id}"))
        return choices[:SUGGESTION_LIMIT]


def _name(text: str) -> str:
    return text if len(text) <= 100 else text[:99] + "…"


def _without_none(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}


class PromptModal(discord.ui.Modal):
    """Asks for the text a button's action needs (a veto's reason) and runs the action with it."""

    def __init__(self, handler: Interactions, action: str, title: str, prompt: str | None) -> None:
        super().__init__(title=title[:45], timeout=900, custom_id=f"quorum-modal:{secrets.token_hex(8)}")
        self.handler = handler
        self.action = action
        # Labels hold 45 characters; a longer prompt is shown as the placeholder instead.
        short = prompt is not None and len(prompt) <= 45
        self.text: discord.ui.TextInput[PromptModal] = discord.ui.TextInput(
            label=prompt if short and prompt else "Your reason", style=discord.TextStyle.paragraph,
            required=True, max_length=1000, placeholder=None if short or not prompt else prompt[:100],
            custom_id="quorum-text")
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.handler.run_action(interaction, with_answer(self.action, self.text.value))
