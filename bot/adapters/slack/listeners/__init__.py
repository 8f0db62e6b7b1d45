"""bolt listeners, one module per kind of request, each with ``register(app, ...)``."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp

from bot.adapters.live_vote import VoteMessages
from bot.adapters.slack.listeners import actions, commands, events, views
from bot.adapters.slack.runner import SlackRunner


def register_listeners(app: AsyncApp, runner: SlackRunner, votes: VoteMessages) -> None:
    commands.register(app, runner, votes)
    actions.register(app, runner)
    views.register(app, runner)
    events.register(app, runner)
