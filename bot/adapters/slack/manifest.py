"""The Slack app manifest, generated from the command registry so every command group has its slash
command. ``python -m bot.adapters.slack.manifest https://quorum.example.org > config/slack-manifest.yml``
writes it for your public URL; a test keeps the checked-in file in step with the registry."""

from __future__ import annotations

import sys

from bot.commands.registry import GROUPS

PLACEHOLDER_URL = "https://quorum.example.org"
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "im:write", "users:read", "usergroups:read")
BOT_EVENTS = ("app_home_opened",)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hint(group: str) -> str:
    if group == "quorum":
        return "help [command]"
    return f"<subcommand> [options] (/quorum help {group} lists them)"


def render_manifest(public_url: str = PLACEHOLDER_URL) -> str:
    endpoint = public_url.rstrip("/") + "/slack/events"
    lines = [
        "# Slack app manifest for Quorum. Create the app at https://api.slack.com/apps -> Create New App ->",
        "# From an app manifest, paste this file, and replace quorum.example.org with your public URL",
        "# (or regenerate it: python -m bot.adapters.slack.manifest https://your.host). See docs/slack.md.",
        "display_information:",
        "  name: Quorum",
        "  description: Meetings, agendas and binding votes for open-source communities",
        "  background_color: \"#2c3e50\"",
        "features:",
        "  app_home:",
        "    home_tab_enabled: true",
        "    messages_tab_enabled: true",
        "    messages_tab_read_only_enabled: true",
        "  bot_user:",
        "    display_name: quorum",
        "    always_online: true",
        "  slash_commands:",
    ]
    for group, description in GROUPS.items():
        lines += [
            f"    - command: /{group}",
            f"      url: {endpoint}",
            f"      description: {_quote(description[:100])}",
            f"      usage_hint: {_quote(_hint(group))}",
            "      should_escape: true",
        ]
    lines += [
        "oauth_config:",
        "  scopes:",
        "    bot:",
        *(f"      - {scope}" for scope in BOT_SCOPES),
        "settings:",
        "  event_subscriptions:",
        f"    request_url: {endpoint}",
        "    bot_events:",
        *(f"      - {event}" for event in BOT_EVENTS),
        "  interactivity:",
        "    is_enabled: true",
        f"    request_url: {endpoint}",
        "  org_deploy_enabled: false",
        "  socket_mode_enabled: false",
        "  token_rotation_enabled: false",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render_manifest(sys.argv[1] if len(sys.argv) > 1 else PLACEHOLDER_URL))
