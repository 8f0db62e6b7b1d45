"""Outbox delivery to Slack, the role directory a vote snapshots, Socket Mode, and the manifest."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.adapters.slack.manifest import render_manifest
from bot.app import build_app
from bot.commands.registry import GROUPS
from bot.config import Secrets, Settings
from bot.contracts.outbound import DeliveryError, DirectMessagesClosed, OutboundKind, OutboundMessage
from bot.contracts.reply import Reply
from tests.adapters.slack.conftest import APP_TOKEN, CHAIR, MEMBER, TEAM, SlackHarness
from tests.adapters.slack.fake_slack import slash_command_body


def outbound(kind: OutboundKind, target: str, text: str = "Reminder: the agenda closes in 2 hours") -> OutboundMessage:
    return OutboundMessage(id=1, key=f"k-{kind}", workspace_id=f"slack:{TEAM}", kind=kind, target=target,
                           reply=Reply(text=text, ephemeral=False))


async def test_dm_opens_a_conversation_then_posts(slack: SlackHarness) -> None:
    ref = await slack.adapter.notifier.send(outbound("dm", f"slack:{TEAM}:{MEMBER}"))
    opened = slack.fake.of("conversations.open")
    assert [c.params["users"] for c in opened] == [MEMBER]
    posted = slack.fake.of("chat.postMessage")[0].params
    assert posted["channel"] == "D0MEMBR1" and "agenda closes" in posted["text"]
    assert ref is not None and re.fullmatch(r"D0MEMBR1:\d+\.000100", ref)


async def test_channel_post_then_update_in_place(slack: SlackHarness) -> None:
    ref = await slack.adapter.notifier.send(outbound("channel", "<#C0ANNOUNCE|announcements>", "Vote #3 opened"))
    assert ref is not None and ref.startswith("C0ANNOUNCE:")
    updated = await slack.adapter.notifier.send(outbound("update", ref, "Vote #3: 2 in favour"))
    call = slack.fake.of("chat.update")[0].params
    assert (call["channel"], call["ts"]) == tuple(ref.split(":")) and "2 in favour" in call["text"]
    assert updated == ref


async def test_rate_limit_is_transient_with_slacks_retry_after(slack: SlackHarness) -> None:
    slack.fake.fail_next("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"})
    with pytest.raises(DeliveryError) as caught:
        await slack.adapter.notifier.send(outbound("channel", "C0ANNOUNCE"))
    assert caught.value.transient and caught.value.retry_after == 7.0
    # Slack is fine again: the outbox's retry goes through.
    assert await slack.adapter.notifier.send(outbound("channel", "C0ANNOUNCE"))


async def test_closed_direct_messages_fall_back(slack: SlackHarness) -> None:
    slack.fake.fail_next("conversations.open", 200, {"ok": False, "error": "cannot_dm_bot"})
    with pytest.raises(DirectMessagesClosed):
        await slack.adapter.notifier.send(outbound("dm", f"slack:{TEAM}:{MEMBER}"))
    slack.fake.fail_next("chat.postMessage", 200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(DeliveryError) as caught:
        await slack.adapter.notifier.send(outbound("channel", "C0GONE"))
    assert not caught.value.transient and not isinstance(caught.value, DirectMessagesClosed)


async def test_role_directory_reads_the_user_group_fresh_plus_config_members(slack: SlackHarness) -> None:
    slack.fake.add_user("U0CONFIG", "Carol")
    directory = slack.adapter.directory
    assert await directory.roles_of(CHAIR) == frozenset({"PMC"})
    assert await directory.roles_of(MEMBER) == frozenset()
    slack.fake.groups["tvm-pmc"][1].add(MEMBER)
    # A vote opening must see the change now, not after the cache expires.
    holders = await directory.holders(f"slack:{TEAM}", "PMC")
    assert holders == {f"slack:{TEAM}:{CHAIR}": "Alice", f"slack:{TEAM}:{MEMBER}": "Bob",
                       f"slack:{TEAM}:U0CONFIG": "Carol"}
    assert await directory.holders(f"slack:{TEAM}", "Committers") is None
    assert await directory.holders("discord:1", "PMC") is None


async def test_role_directory_names_members_slack_knows(slack: SlackHarness) -> None:
    slack.fake.add_user("U0CONFIG", "Carol")
    names = await slack.adapter.directory.names(
        f"slack:{TEAM}", [f"slack:{TEAM}:U0CONFIG", f"slack:{TEAM}:U0GONE", "slack:T0OTHER:U0CONFIG", "discord:1"])
    # Slack's name for a member it knows; nothing for one it does not, another team's, or another platform's.
    assert names == {f"slack:{TEAM}:U0CONFIG": "Carol"}


async def test_socket_mode_runs_the_same_handlers(slack: SlackHarness) -> None:
    envelope = {
        "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf", "type": "slash_commands",
        "accepts_response_payload": True, "retry_attempt": 0, "retry_reason": "",
        "payload": dict(parse_qsl(slash_command_body(
            "/quorum", "help agenda add", team=TEAM, user=MEMBER, user_name="bob",
            response_url=slack.fake.url("/respond/socket"), trigger_id="sock.1"))),
    }
    later = {**envelope, "envelope_id": "later", "payload": dict(parse_qsl(slash_command_body(
        "/me", "tz Europe/Paris", team=TEAM, user=MEMBER, user_name="bob",
        response_url=slack.fake.url("/respond/later"), trigger_id="sock.2")))}
    await slack.adapter.start_socket_mode(APP_TOKEN)
    try:
        connections = slack.fake.of("apps.connections.open")
        assert connections[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
        await slack.fake.socket_outbox.put(envelope)
        await slack.fake.wait_for(lambda: any(m.get("envelope_id") == envelope["envelope_id"]
                                              for m in slack.fake.socket_received))
        answer = (await slack.fake.responses_count(1))[0]
        assert answer.method == "socket" and "/agenda add" in answer.params["text"]
        # The same envelope again (Slack redelivers when an ack is late): acked, not run twice.
        await slack.fake.socket_outbox.put({**envelope, "retry_attempt": 1, "retry_reason": "timeout"})
        await slack.fake.wait_for(lambda: sum(m.get("envelope_id") == envelope["envelope_id"]
                                              for m in slack.fake.socket_received) == 2)
        await slack.fake.socket_outbox.put(later)
        answers = await slack.fake.responses_count(2)
        assert [a.method for a in answers] == ["socket", "later"]
        assert "Europe/Paris" in answers[1].params["text"]
    finally:
        await slack.adapter.close()


def test_manifest_has_one_command_per_group_and_matches_the_registry() -> None:
    path = Path(__file__).resolve().parents[3] / "config" / "slack-manifest.yml"
    text = path.read_text(encoding="utf-8")
    assert text == render_manifest(), "regenerate: python -m bot.adapters.slack.manifest > config/slack-manifest.yml"
    assert re.findall(r"- command: /(\w+)", text) == list(GROUPS)
    for scope in ("commands", "chat:write", "im:write", "users:read", "usergroups:read"):
        assert f"      - {scope}\n" in text
    assert "home_tab_enabled: true" in text and "- app_home_opened" in text
    assert text.count("request_url: https://quorum.example.org/slack/events") == 2


async def test_app_wires_slack_only_when_enabled(settings: Settings, tmp_path: Path) -> None:
    from dataclasses import replace

    url = f"sqlite+aiosqlite:///{tmp_path / 'q.db'}"
    on = build_app(replace(settings, database_url=url))
    assert on.slack is not None and on.services.notifiers["slack"] is on.slack.notifier
    assert on.services.role_directories["slack"] is on.slack.directory
    assert any(r.resource and r.resource.canonical == "/slack/events" for r in on.web_app.router.routes())
    off = build_app(replace(settings, database_url=url, secrets=Secrets()))
    assert off.slack is None and "slack" not in off.services.notifiers
    assert not any(r.resource and r.resource.canonical == "/slack/events" for r in off.web_app.router.routes())
    socket = build_app(replace(settings, database_url=url,
                               secrets=replace(settings.secrets, slack_app_token=APP_TOKEN)))
    assert socket.slack is not None
    assert not any(r.resource and r.resource.canonical == "/slack/events" for r in socket.web_app.router.routes())
    for app in (on, off, socket):
        await app.close()
