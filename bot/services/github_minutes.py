"""Minutes back on GitHub: when a meeting's minutes are published, every agenda item linking an issue
or pull request of a configured repository gets one comment there with that item's notes, decisions and
action items. Run as a publish hook inside ``/notes publish``'s transaction, so the comments are written
to the outbox with the minutes or not at all (docs/github.md)."""

from __future__ import annotations

from bot.config import Settings
from bot.contracts.reply import Reply
from bot.rules.github_links import issue_ref
from bot.rules.github_minutes import comment_marker, item_comment
from bot.rules.minutes import MinutesNote
from bot.services.notes import MeetingNotes
from bot.services.outbox import Outbox, supersede
from bot.services.views import SeriesInfo
from storage.db import AsyncSession
from storage.models import Meeting


def comment_prefix(meeting_id: int, item_id: int) -> str:
    return f"github_comment:{meeting_id}:{item_id}:"


class GitHubMinutes:
    def __init__(self, settings: Settings, outbox: Outbox) -> None:
        self.settings = settings
        self.outbox = outbox

    async def on_publish(self, session: AsyncSession, series: SeriesInfo, meeting: Meeting,
                         notes: MeetingNotes) -> bool:
        """Write one outbox row per GitHub-linked item; return whether any was written. The key ends with
        the latest note's id, so publishing again after new notes writes a new row, which edits the
        comment made before (its id, from the earlier row, rides along)."""
        repositories = self.settings.github.repositories
        # Without GITHUB_TOKEN no notifier could send them: they would only pile up as failures.
        if not self.settings.secrets.github_enabled or not repositories or meeting.id is None or not notes.notes:
            return False
        latest = max(n.id for n in notes.notes)
        written = 0
        for item in notes.items:
            ref = issue_ref(item.link, repositories)
            if ref is None:
                continue
            prefix = comment_prefix(meeting.id, item.id)
            # This row makes or edits the same comment as the earlier ones, whose id rides along.
            latest_key = f"{prefix}{latest}"
            rows = await supersede(session, prefix, latest_key)
            earlier = [row for row in rows if row.platform_ref]
            known = max(earlier, key=lambda row: row.id or 0).platform_ref if earlier else None
            mine = [MinutesNote(n.id, n.kind, n.text, n.item_id, n.owner_name) for n in notes.notes
                    if n.item_id == item.id]
            marker = comment_marker(meeting.id, item.id)
            body = item_comment(marker=marker, meeting_title=notes.title, when=notes.when, item=item, notes=mine)
            data: dict[str, object] = {"marker": marker, "meeting": meeting.id, "item": item.id}
            if known is not None:
                data["comment_id"] = known
            written += await self.outbox.enqueue(
                session, key=latest_key, workspace_id=notes.series.workspace_id, kind="github_comment",
                target=ref.target, reply=Reply(text=body, ephemeral=False, kind="minutes", data=data))
        return written > 0
