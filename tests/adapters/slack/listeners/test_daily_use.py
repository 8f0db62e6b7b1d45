"""Issue 16 through Slack's slash commands: zones refused with the zone meant, each reader's own time of the
start and the agenda deadline, and member text that cannot ping (text and notification fallback)."""

from __future__ import annotations

from tests.adapters.slack.conftest import MEMBER, SlackHarness, texts

SERIES = ('series create slug=community name="TVM Community Meeting" weekday=wed time=08:00 '
          "tz={tz} start=2022-03-02")


async def test_zones_own_times_and_member_text_through_slack(slack: SlackHarness) -> None:
    refused = await slack.command("/meeting", SERIES.format(tz="PST"))
    assert "America/Los_Angeles" in texts(refused) and "abbreviation" in texts(refused)
    await slack.command("/meeting", SERIES.format(tz="America/Los_Angeles"))

    added = await slack.command("/agenda", 'add "<!here> @everyone look" https://discuss.tvm.apache.org/t/1',
                                user=MEMBER)
    shown = texts(added)
    assert "Your time: starts <!date^1646236800^" in shown and "agenda deadline <!date^1646150400^" in shown
    assert "<!here>" not in shown and "<!here>" not in added["text"]
    assert "@\u200beveryone" in shown
