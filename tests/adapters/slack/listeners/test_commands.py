"""Slash commands through the running web server: signed form posts in, answers on the response URL."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands.registry import REGISTRY
from tests.adapters.slack.conftest import CHAIR, MEMBER, TEAM, SlackHarness, texts

SERIES = ('series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz=America/Los_Angeles zones=UTC,Europe/London,Asia/Shanghai start=2022-03-02")
# One real command per group; groups added later without an entry here still get a smoke run below.
EXAMPLES = {
    "meeting": "next",
    "agenda": "list",
    "me": "tz Asia/Kolkata",
    "quorum": "help",
}


async def test_series_create_is_announced_in_channel_and_next_meeting_shows_each_readers_time(
    slack: SlackHarness,
) -> None:
    created = await slack.command("/meeting", SERIES)
    assert created["response_type"] == "in_channel"
    assert "Created series community" in texts(created)
    assert created["replace_original"] is False

    upcoming = await slack.command("/meeting", "next", user=MEMBER)
    assert upcoming["response_type"] == "ephemeral"
    unix = int(datetime(2022, 3, 2, 16, 0, tzinfo=UTC).timestamp())
    shown = texts(upcoming)
    assert f"<!date^{unix}^{{date_long_pretty}} {{time}}|Wed 2022-03-02 16:00 UTC>" in shown
    # The display-zone line stays next to each reader's own time.
    assert "Wed 2022-03-02 08:00 PST (America/Los_Angeles) · 16:00 UTC · 16:00 GMT (Europe/London)" in shown


async def test_every_command_group_answers_through_slack(slack: SlackHarness) -> None:
    await slack.command("/meeting", SERIES)
    for group in REGISTRY.groups():
        text = EXAMPLES.get(group) or " ".join(REGISTRY.in_group(group)[0].path[1:])
        answer = await slack.command(f"/{group}", text, user=MEMBER)
        assert answer["text"], f"/{group} {text} gave an empty answer"
        if group in EXAMPLES:
            assert not texts(answer).startswith(":warning:"), texts(answer)
    me = await slack.command("/me", "tz Asia/Kolkata", user=MEMBER)
    assert "Asia/Kolkata" in texts(me)
    member = await slack.services.members.get(f"slack:{TEAM}", f"slack:{TEAM}:{MEMBER}")
    assert member is not None and member.display_name == "Bob" and member.timezone == "Asia/Kolkata"


async def test_agenda_add_with_links_and_mentions_parses_with_the_shared_grammar(slack: SlackHarness) -> None:
    await slack.command("/meeting", SERIES)
    added = await slack.command("/agenda", 'add "Unify meetings" https://discuss.tvm.apache.org/t/12171',
                                user=MEMBER)
    assert "Unify meetings" in texts(added), texts(added)
    listed = await slack.command("/agenda", "list", user=MEMBER)
    assert "Unify meetings" in texts(listed) and "(added by Bob)" in texts(listed)


async def test_errors_are_ephemeral_and_specific(slack: SlackHarness) -> None:
    wrong = await slack.command("/meeting", "nxt", user=MEMBER)
    assert wrong["response_type"] == "ephemeral"
    assert "Did you mean /meeting next?" in texts(wrong)
    denied = await slack.command("/meeting", SERIES, user=MEMBER)
    assert denied["response_type"] == "ephemeral" and "is for chairs" in texts(denied)
    assert await slack.services.meetings.list_series(f"slack:{TEAM}") == []


async def test_user_group_grants_the_role_and_removal_takes_it_away_after_the_cache_expires(
    slack: SlackHarness,
) -> None:
    from datetime import timedelta

    created = await slack.command("/meeting", SERIES, user=CHAIR)
    assert "Created series" in texts(created)
    slack.fake.groups["tvm-pmc"][1].discard(CHAIR)
    slack.clock.advance(timedelta(minutes=2))
    denied = await slack.command("/meeting", "cancel 2022-03-09", user=CHAIR)
    assert "is for chairs" in texts(denied)
    slack.fake.groups["tvm-pmc"][1].add(MEMBER)
    slack.clock.advance(timedelta(minutes=2))
    cancelled = await slack.command("/meeting", "cancel 2022-03-09", user=MEMBER)
    assert "Cancelled the meeting" in texts(cancelled) and cancelled["response_type"] == "in_channel"


async def test_slack_mentions_resolve_to_member_ids(slack: SlackHarness) -> None:
    from bot.adapters.slack.identity import mention_resolver

    resolve = mention_resolver(TEAM)
    assert resolve("<@U0MEMBR1|bob>") == f"slack:{TEAM}:U0MEMBR1"
    assert resolve("<@U0MEMBR1>") == f"slack:{TEAM}:U0MEMBR1"
    import pytest

    from bot.errors import InvalidInput

    with pytest.raises(InvalidInput, match="pick them from Slack's list"):
        resolve("@bob")
