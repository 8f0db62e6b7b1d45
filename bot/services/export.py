"""Export of the records: JSON with the SPEC's stable keys, and Markdown for people."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.errors import NotFound
from bot.rules.parsing import WEEKDAYS
from bot.rules.time import format_zone_line
from bot.services.backup import BackupService
from bot.services.notes import load_meeting_notes
from bot.services.views import AgendaEntry, SeriesInfo
from bot.services.vote_audit import PAGE, export_votes
from storage.db import Database
from storage.models import Meeting
from storage.queries import agenda as agenda_q
from storage.queries import meetings as meetings_q
from storage.queries import members as members_q
from storage.queries import rotation as rotation_q

JSON_PIECES = 2000  # pieces of JSON text encoded between two turns of the event loop


def iso(instant: datetime) -> str:
    """UTC ISO 8601 with a Z, as the export promises."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ExportService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, backup: BackupService) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.backup = backup

    async def _load(self, slug: str | None) -> tuple[list[SeriesInfo], list[Meeting], dict[int, list[AgendaEntry]]]:
        async with self.db.read() as session:
            series_rows = await meetings_q.all_series(session)
            if slug is not None:
                series_rows = [s for s in series_rows if s.slug == slug]
                if not series_rows:
                    raise NotFound(f"There is no series '{slug}' to export.")
            series = [SeriesInfo.of(s) for s in series_rows]
            meetings: list[Meeting] = []
            for info in series:
                meetings.extend(await meetings_q.meetings_of_series(session, info.id))
            items = await agenda_q.items_of_many(session, [m.id for m in meetings if m.id is not None])
        return series, meetings, {k: [AgendaEntry.of(i) for i in v] for k, v in items.items()}

    async def as_dict(self, slug: str | None = None) -> dict[str, Any]:
        """The SPEC's stable keys; a full export (no ``slug``) also carries ``schema`` and ``tables``, every
        row of every table, which ``quorum import`` restores (bot/services/backup.py)."""
        series, meetings, items = await self._load(slug)
        by_id = {s.id: s for s in series}
        async with self.db.read() as session:
            notes = await rotation_q.notes_of(session, [m.id for m in meetings if m.id is not None])
        votes = await self._votes(series, slug)
        return {
            "series": [
                {"slug": s.slug, "name": s.name, "timezone": s.timezone,
                 "weekday": WEEKDAYS[s.weekday] if s.standing else None,
                 "time": f"{s.local_time:%H:%M}", "workspace": s.workspace_id,
                 "duration_minutes": int(s.duration.total_seconds() // 60),
                 "agenda_deadline_minutes": int(s.deadline.total_seconds() // 60),
                 "display_zones": list(s.display_zones), "start_date": s.start_date.isoformat()}
                for s in series
            ],
            "meetings": [
                {
                    "id": m.id, "number": m.number, "series": by_id[m.series_id].slug, "starts_at": iso(m.starts_at),
                    "status": m.status, "host": m.host, "note_taker": m.note_taker, "name": m.name,
                    "agenda": [
                        {"id": i.id, "number": i.number, "position": i.position, "title": i.title, "link": i.link,
                         "author": i.author,
                         "author_name": i.author_name, "added_at": iso(i.added_at)}
                        for i in items.get(m.id or 0, [])
                    ],
                    "notes": [
                        {"id": n.id, "kind": n.kind, "text": n.text, "item": n.item_id, "owner": n.owner,
                         "author": n.author, "author_name": n.author_name, "created_at": iso(n.created_at)}
                        for n in notes.get(m.id or 0, [])
                    ],
                }
                for m in meetings
            ],
            "votes": votes,
            **({} if slug is not None else await self.backup.snapshot()),
        }

    async def _votes(self, series: list[SeriesInfo], slug: str | None) -> list[dict[str, Any]]:
        """Votes belong to a workspace, not a series: with --series, those of the series' workspace."""
        async with self.db.read() as session:
            return await export_votes(session, None if slug is None else [s.workspace_id for s in series])

    async def as_json(self, slug: str | None = None) -> str:
        """The export as ``json.dumps(..., indent=2)`` writes it, encoded a few thousand pieces at a time
        with the event loop running others in between (a vote of 100,000 ballots is millions)."""
        encoder = json.JSONEncoder(indent=2, ensure_ascii=False)
        blocks: list[str] = []  # joined a block at a time: one join of millions of pieces is a long stall
        parts: list[str] = []
        for part in encoder.iterencode(await self.as_dict(slug)):
            parts.append(part)
            if len(parts) == JSON_PIECES:
                blocks.append("".join(parts))
                parts.clear()
                await asyncio.sleep(0)
        blocks.append("".join(parts))
        return "".join(blocks) + "\n"

    async def as_markdown(self, slug: str | None = None) -> str:
        series, meetings, items = await self._load(slug)
        by_series = {s.id: s for s in series}
        lines: list[str] = []
        async with self.db.read() as session:
            people = {p for m in meetings for p in (m.host, m.note_taker) if p}
            names: dict[str, str] = {}
            for info in series:
                names.update(await members_q.display_names(session, info.workspace_id, people))
            # Minutes (notes grouped by agenda item) of every meeting that has notes.
            noted = await rotation_q.notes_of(session, [m.id for m in meetings if m.id is not None])
            minutes: dict[int, str] = {}
            for meeting in meetings:
                if meeting.id is not None and noted.get(meeting.id):
                    loaded = await load_meeting_notes(session, by_series[meeting.series_id], meeting)
                    minutes[meeting.id] = loaded.minutes(level=3)
        for info in series:
            lines.append(f"# {info.name} (`{info.slug}`)")
            lines.append("")
            lines.append(f"{info.meets()}; "
                         f"agenda closes {info.deadline.total_seconds() / 3600:g} h before each meeting.")
            lines.append("")
            for meeting in (m for m in meetings if m.series_id == info.id):
                title = meeting.name or info.name
                lines.append(f"## {title}: {format_zone_line(meeting.starts_at, info.timezone, info.display_zones)}")
                lines.append("")
                lines.append(f"- Status: {meeting.status}")
                if meeting.host:
                    lines.append(f"- Host: {names.get(meeting.host, meeting.host)}")
                if meeting.note_taker:
                    lines.append(f"- Note-taker: {names.get(meeting.note_taker, meeting.note_taker)}")
                agenda = items.get(meeting.id or 0, [])
                if agenda:
                    lines.append("")
                    lines.append("### Agenda")
                    lines.append("")
                    for item in agenda:
                        lines.append(
                            f"{item.position}. [{item.title}]({item.link}) (#{item.number}, {item.author_name})")
                lines.append("")
                if meeting.id is not None and meeting.id in minutes:
                    lines.append(minutes[meeting.id])
        lines.extend(await _votes_markdown(await self._votes(series, slug)))
        return "\n".join(lines).rstrip() + "\n" if lines else "No records yet.\n"


def _source_words(source: dict[str, Any], role: str | None) -> str:
    """An export's electorate source in the words of /vote electorate (docs/votes.md)."""
    kind = source.get("source")
    if kind == "seen" and source.get("seen_at"):
        return f"seen with {role} on {source['seen_at']}"
    return {"config": "config", "listing": "platform listing"}.get(kind or "", "not recorded")


async def _votes_markdown(votes: list[dict[str, Any]]) -> list[str]:
    if not votes:
        return []
    lines = ["# Votes", ""]
    for vote in votes:
        lines.append(f"## Vote #{vote.get('number', vote['id'])}: {vote['title']}")
        lines.append("")
        if vote.get("link"):
            lines.append(f"- Link: <{vote['link']}>")
        lines.append(f"- Rule: `{vote['rule']}`; binding role {vote.get('binding_role')}, electorate of "
                     f"{len(vote['electorate'])}")
        lines.append(f"- Opened {vote['opened_at']}, closes {vote['closes_at']}"
                     + (" (shorter than 72 h, forced)" if vote.get("short_forced") else ""))
        binding, other = vote["tally"]["binding"], vote["tally"]["non_binding"]
        lines.append(f"- Binding: {binding['+1']} +1, {binding['0']} 0, {binding['-1']} -1; non-binding: "
                     f"{other['+1']} +1, {other['0']} 0, {other['-1']} -1")
        if vote["status"] == "closed":
            forced = " (closed early with force=yes)" if vote.get("close_forced") else ""
            lines.append(f"- Result: **{vote['outcome']}**{forced}: {vote.get('explanation') or ''}")
        else:
            lines.append("- Status: open")
        if vote.get("opened_digest"):
            lines.append(f"- Opened digest: `{vote['opened_digest']}`")
        lines.append(f"- {'Final' if vote['status'] == 'closed' else 'Head'} digest: `{vote['head_digest']}`")
        names = vote.get("electorate_names", {})
        sources = vote.get("electorate_sources", {})
        if sources:
            lines.append("- Electorate: " + "; ".join(
                f"{names.get(m, m)} ({_source_words(sources.get(m) or {}, vote.get('binding_role'))})"
                for m in vote["electorate"]))
        if vote["ballots"]:
            lines.append("")
            lines.append("| voter | vote | binding | cast at | comment |")
            lines.append("|---|---|---|---|---|")
            for index, ballot in enumerate(vote["ballots"], start=1):
                if index % PAGE == 0:
                    await asyncio.sleep(0)  # a vote may have 100,000 ballots: let the loop run others
                comment = (ballot.get("comment") or "").replace("|", "\\|")
                lines.append(f"| {names.get(ballot['voter'], ballot['voter_name'])} | {ballot['value']} | "
                             f"{'yes' if ballot['binding'] else 'no'} | {ballot['cast_at']} | {comment} |")
        lines.append("")
    return lines
