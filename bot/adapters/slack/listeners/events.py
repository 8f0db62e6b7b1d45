"""Events: the App Home tab, drawn when a member opens it: their duties at the next meeting, the next
meeting, and the open votes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.render import home_view
from bot.adapters.slack.runner import SlackRunner
from bot.contracts.actor import Actor
from bot.contracts.reply import MeetingDuties, Reply

# Open votes for the App Home, given the member. A hook because votes may not exist in this build.
OpenVotesHook = Callable[[Actor], Awaitable[Reply | None]]


def register(app: AsyncApp, runner: SlackRunner, open_votes: OpenVotesHook | None = None) -> None:
    home = AppHome(runner, open_votes)

    async def on_home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        team = str(body.get("team_id") or "")
        user_id = str(event.get("user"))
        actor = await runner.actor(team, user_id)
        await client.views_publish(user_id=user_id, view=home_view(await home.sections(actor, team)))

    app.event("app_home_opened")(on_home)


class AppHome:
    def __init__(self, runner: SlackRunner, open_votes: OpenVotesHook | None = None) -> None:
        self.runner = runner
        self.open_votes = open_votes or self._open_votes_from_registry

    async def sections(self, actor: Actor, team: str) -> list[tuple[str, Reply]]:
        sections: list[tuple[str, Reply]] = []
        upcoming = await self.runner.run("meeting next", actor, team)
        meeting = upcoming.meeting or MeetingDuties(host=None, note_taker=None)
        duties = [label for label, member in (("host", meeting.host), ("take notes at", meeting.note_taker))
                  if member == actor.member_id]
        if duties:
            sections.append(("Your duties", Reply(f"You {' and '.join(duties)} the next meeting.",
                                                  moments=upcoming.moments)))
        sections.append(("Next meeting", upcoming if upcoming.ok else Reply(upcoming.text)))
        votes = await self.open_votes(actor)
        if votes is not None:
            sections.append(("Open votes", votes if votes.ok else Reply(votes.text)))
        return sections

    async def _open_votes_from_registry(self, actor: Actor) -> Reply | None:
        """The open votes, as ``/vote list open`` shows them."""
        return await self.runner.run("vote list open", actor, actor.workspace_id.split(":", 1)[-1])
