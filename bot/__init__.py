"""Quorum: meetings and binding votes for open-source communities, from Discord, Slack and a console."""
