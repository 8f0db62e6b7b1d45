"""Slack: slash commands, buttons, modals, App Home and notifications (see docs/slack.md)."""

from bot.adapters.slack.entry import SlackAdapter, api_base_url

__all__ = ["SlackAdapter", "api_base_url"]
