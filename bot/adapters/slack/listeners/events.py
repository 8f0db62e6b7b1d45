"""Events: the App Home tab, drawn when a member opens it: their duties at the next meeting, the next
meeting, and the open votes."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.render import home_view
from bot.adapters.slack.runner import SlackRunner
from bot.contracts.actor import Actor
from bot.contracts.reply import MeetingDuties, Reply

# Open votes for the App Home, given the member. A hook because votes may not exist in this build.


def register(app: AsyncApp, runner: SlackRunner) -> None:
    home = AppHome(runner)

    async def on_home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        user_id = str(event.get("user"))
        actor = await runner.actor(team, user_id)
        await client.views_publish(user_id=user_id, view=home_view(await home.sections(actor, team)))

    app.event("app_home_opened")(on_home)


class AppHome:
    def __init__(self, runner: SlackRunner) -> None:
        self.runner = runner

    async def sections(self, actor: Actor, team: str) -> list[tuple[str, Reply]]:
        sections: list[tuple[str, Reply]] = []
        upcoming = await self.runner.run("meeting next", actor, team)
        meeting = upcoming.duties or MeetingDuties(host=None, note_taker=None)
        duties = [label for label, member in (("host", meeting.host), ("take notes at", meeting.note_taker))
                  if member == actor.member_id]
        if duties:
            sections.append(("Your duties", Reply(f"You {' and '.join(duties)} the next meeting.",
                                                  moments=upcoming.moments,
                                                  moment_labels=upcoming.moment_labels)))
        sections.append(("Next meeting", upcoming if upcoming.ok else Reply(upcoming.text)))
        votes = await self.runner.run("vote list open", actor, team)  # as /vote list open shows them
        sections.append(("Open votes", votes if votes.ok else Reply(votes.text)))
        return sections
