"""Mirroring meetings as a platform's scheduled events (Discord's): what to create, update, adopt or
cancel so that the platform's events match the upcoming meetings. A pure decision; the adapter reads
the inputs and carries the plan out.

Every event carries a marker (``marker()``) in its description, so an event created just before a
crash, whose link was never stored, is found again and adopted instead of duplicated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

MARKER_PREFIX = "quorum-meeting:"  # written in each event's description, to find events after a crash


def marker(series_id: int, occurrence_key: str) -> str:
    return f"{MARKER_PREFIX}{series_id}:{occurrence_key}"


@dataclass(frozen=True)
class MirroredMeeting:
    """A meeting as its platform event should show it."""

    series_id: int
    occurrence_key: str
    name: str
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    description: str
    location: str

    @property
    def key(self) -> tuple[int, str]:
        return self.series_id, self.occurrence_key

    @property
    def marker(self) -> str:
        return marker(self.series_id, self.occurrence_key)


@dataclass(frozen=True)
class EventLink:
    """A stored link from a meeting to the platform event that mirrors it, as the event was last set."""

    series_id: int
    occurrence_key: str
    guild_id: str
    event_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    status: str  # scheduled | cancelled

    @property
    def key(self) -> tuple[int, str]:
        return self.series_id, self.occurrence_key


@dataclass(frozen=True)
class Create:
    """Create an event for the meeting (and store its link)."""

    meeting: MirroredMeeting


@dataclass(frozen=True)
class Update:
    """Set the linked event to the meeting's name and times."""

    meeting: MirroredMeeting
    event_id: str


@dataclass(frozen=True)
class Adopt:
    """Link the meeting to an event found by its marker (created before a crash) and set it."""

    meeting: MirroredMeeting
    event_id: str


@dataclass(frozen=True)
class Cancel:
    """Cancel the linked event (the meeting was cancelled, or is no longer planned)."""

    link: EventLink


SyncAction = Create | Update | Adopt | Cancel


def _needs_event(meeting: MirroredMeeting, link: EventLink | None) -> bool:
    return not meeting.cancelled and (link is None or link.status == "cancelled")


def needs_markers(wanted: Sequence[MirroredMeeting], links: Sequence[EventLink]) -> bool:
    """Whether the platform's events must be read for their markers: only when some meeting has no
    live event, and so may have one that was never linked."""
    stored = {link.key: link for link in links}
    return any(_needs_event(meeting, stored.get(meeting.key)) for meeting in wanted)


def plan_sync(wanted: Sequence[MirroredMeeting], links: Sequence[EventLink], markers: Mapping[str, str],
              now: datetime) -> tuple[SyncAction, ...]:
    """The actions, in the order to carry them out: the wanted meetings' in their order, then the
    cancellation of linked events whose meeting is no longer planned. ``markers`` maps the markers of
    the platform's events to their ids (empty when ``needs_markers`` said they are not needed).

    A cancelled meeting cancels its scheduled event; a meeting without a live event adopts the event
    carrying its marker when it was never linked, else gets a new one; a linked event whose name or
    times differ from the meeting's is updated. A linked meeting that is no longer planned (e.g. a
    one-off moved) loses its event while that event is still to come."""
    stored = {link.key: link for link in links}
    actions: list[SyncAction] = []
    seen: set[tuple[int, str]] = set()
    for meeting in wanted:
        seen.add(meeting.key)
        link = stored.get(meeting.key)
        if meeting.cancelled:
            if link is not None and link.status == "scheduled":
                actions.append(Cancel(link))
        elif _needs_event(meeting, link):
            adopted = markers.get(meeting.marker) if link is None else None
            actions.append(Adopt(meeting, adopted) if adopted is not None else Create(meeting))
        elif link is not None and (link.name, link.starts_at, link.ends_at) != (
                meeting.name, meeting.starts_at, meeting.ends_at):
            actions.append(Update(meeting, link.event_id))
    for key, link in stored.items():
        if key not in seen and link.status == "scheduled" and link.starts_at > now:
            actions.append(Cancel(link))
    return tuple(actions)
