"""The App Home, through a signed app_home_opened event."""

from __future__ import annotations

import json

from tests.adapters.slack.conftest import CHAIR, MEMBER, TEAM, SlackHarness, texts
from tests.adapters.slack.listeners.test_commands import SERIES


async def test_app_home_shows_duties_next_meeting_and_open_votes(slack: SlackHarness) -> None:
    await slack.command("/meeting", SERIES, user=CHAIR)
    opened = await slack.command_posting("/vote", 'open "Adopt the roadmap RFC" rule=lazy-majority', user=CHAIR)
    assert "Adopt the roadmap RFC" in texts(opened), texts(opened)
    from tests.adapters.slack.fake_slack import app_home_opened_body

    assert (await slack.post(app_home_opened_body(team=TEAM, user=MEMBER, event_id="Ev1"),
                             "application/json")).status == 200
    await slack.fake.wait_for(lambda: len(slack.fake.of("views.publish")) == 1)
    published = slack.fake.of("views.publish")[0].params
    assert published["user_id"] == MEMBER
    view = published["view"] if isinstance(published["view"], dict) else json.loads(published["view"])
    assert view["type"] == "home"
    shown = "\n".join(texts({"blocks": [b]}) for b in view["blocks"])
    assert "Next meeting" in shown and "TVM Community Meeting" in shown and "<!date^1646236800^" in shown
    assert "Open votes" in shown and "Adopt the roadmap RFC" in shown
