"""The scheduled-event sync plan: what to create, update, adopt and cancel, as a pure decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.event_sync import (
    Adopt,
    Cancel,
    Create,
    EventLink,
    MirroredMeeting,
    SyncAction,
    Update,
    marker,
    needs_markers,
    plan_sync,
)

NOW = datetime(2022, 3, 1, 12, tzinfo=UTC)
GUILD = "900000000000000001"


def meeting(key: str = "2022-03-02", *, series: int = 1, name: str = "Weekly", hours: int = 24,
            cancelled: bool = False) -> MirroredMeeting:
    starts = NOW + timedelta(hours=hours)
    return MirroredMeeting(series, key, name, starts, starts + timedelta(hours=1), cancelled,
                           f"Weekly (weekly).\n{marker(series, key)}", "#general")


def linked(of: MirroredMeeting, event_id: str = "7001", status: str = "scheduled") -> EventLink:
    return EventLink(of.series_id, of.occurrence_key, GUILD, event_id, of.name, of.starts_at, of.ends_at, status)


def test_a_new_meeting_gets_an_event_and_markers_are_read_first() -> None:
    wanted = [meeting()]
    assert needs_markers(wanted, [])
    assert plan_sync(wanted, [], {}, NOW) == (Create(wanted[0]),)


def test_an_event_created_before_a_crash_is_adopted_by_its_marker() -> None:
    wanted = [meeting()]
    assert plan_sync(wanted, [], {wanted[0].marker: "7009", "quorum-meeting:9:x": "1"}, NOW) == (
        Adopt(wanted[0], "7009"),)


def test_a_cancelled_link_gets_a_new_event_never_the_old_one_adopted() -> None:
    wanted = [meeting()]
    links = [linked(wanted[0], status="cancelled")]
    assert needs_markers(wanted, links)
    assert plan_sync(wanted, links, {wanted[0].marker: "7001"}, NOW) == (Create(wanted[0]),)


def test_an_event_in_sync_is_left_alone_and_markers_are_not_read() -> None:
    wanted = [meeting()]
    links = [linked(wanted[0])]
    assert not needs_markers(wanted, links)
    assert plan_sync(wanted, links, {}, NOW) == ()


def test_a_renamed_or_moved_meeting_updates_its_event() -> None:
    before = meeting()
    for after in (replace(before, name="Planning"), replace(before, starts_at=before.starts_at + timedelta(hours=1)),
                  replace(before, ends_at=before.ends_at + timedelta(minutes=30))):
        assert plan_sync([after], [linked(before)], {}, NOW) == (Update(after, "7001"),)


def test_a_cancelled_meeting_cancels_its_scheduled_event_only() -> None:
    cancelled = meeting(cancelled=True)
    assert not needs_markers([cancelled], [])
    assert plan_sync([cancelled], [linked(cancelled)], {}, NOW) == (Cancel(linked(cancelled)),)
    assert plan_sync([cancelled], [linked(cancelled, status="cancelled")], {}, NOW) == ()
    assert plan_sync([cancelled], [], {}, NOW) == ()


def test_a_meeting_no_longer_planned_loses_its_event_while_it_is_to_come() -> None:
    gone, past = meeting("2022-03-02"), meeting("2022-02-28", hours=-30)
    links = [linked(gone, "1"), linked(past, "2"), linked(meeting("2022-03-03", hours=48), "3", status="cancelled")]
    assert plan_sync([], links, {}, NOW) == (Cancel(links[0]),)


def test_the_wanted_meetings_come_first_in_their_order_then_the_stale_links() -> None:
    first, second, stale = meeting("a", hours=5), meeting("b", hours=3), meeting("c", hours=4)
    plan = plan_sync([first, second], [linked(stale, "3"), linked(second, "2", status="cancelled")], {}, NOW)
    assert plan == (Create(first), Create(second), Cancel(linked(stale, "3")))


# -- properties --------------------------------------------------------------------------------
keys = st.sampled_from(["a", "b", "c", "d", "e"])
meetings = st.builds(meeting, keys, series=st.integers(1, 2), name=st.sampled_from(["Weekly", "Planning"]),
                     hours=st.integers(-48, 48), cancelled=st.booleans())
unique_meetings = st.lists(meetings, max_size=6, unique_by=lambda m: m.key)
links = st.lists(st.builds(linked, meetings, st.sampled_from(["1", "2", "3"]),
                           st.sampled_from(["scheduled", "cancelled"])), max_size=6, unique_by=lambda link: link.key)
marker_maps = st.dictionaries(st.builds(marker, st.integers(1, 2), keys), st.sampled_from(["8", "9"]), max_size=4)


def carried_out(links: list[EventLink], plan: tuple[SyncAction, ...]) -> list[EventLink]:
    """The stored links after a platform carried the plan out without failures."""
    stored = {link.key: link for link in links}
    for number, action in enumerate(plan):
        match action:
            case Create(wanted):
                stored[wanted.key] = linked(wanted, f"new-{number}")
            case Update(wanted, event_id) | Adopt(wanted, event_id):
                stored[wanted.key] = linked(wanted, event_id)
            case Cancel(link):
                stored[link.key] = replace(link, status="cancelled")
    return list(stored.values())


@given(unique_meetings, links, marker_maps)
def test_once_carried_out_the_plan_is_empty(wanted: list[MirroredMeeting], stored: list[EventLink],
                                            markers: dict[str, str]) -> None:
    after = carried_out(stored, plan_sync(wanted, stored, markers, NOW))
    assert plan_sync(wanted, after, markers, NOW) == ()
    assert not needs_markers(wanted, after)


@given(unique_meetings, links, marker_maps)
def test_each_meeting_is_acted_on_at_most_once_and_only_scheduled_events_are_cancelled(
        wanted: list[MirroredMeeting], stored: list[EventLink], markers: dict[str, str]) -> None:
    plan = plan_sync(wanted, stored, markers, NOW)
    touched = [action.link.key if isinstance(action, Cancel) else action.meeting.key for action in plan]
    assert len(touched) == len(set(touched))
    assert all(action.link.status == "scheduled" for action in plan if isinstance(action, Cancel))
    live = {link.key for link in stored if link.status == "scheduled"}
    assert all(action.meeting.key not in live for action in plan if isinstance(action, Create | Adopt))
    assert all(not action.meeting.cancelled for action in plan if isinstance(action, Create | Adopt | Update))


@given(unique_meetings, links, marker_maps)
def test_markers_matter_only_when_they_are_read(wanted: list[MirroredMeeting], stored: list[EventLink],
                                                markers: dict[str, str]) -> None:
    if not needs_markers(wanted, stored):
        assert plan_sync(wanted, stored, markers, NOW) == plan_sync(wanted, stored, {}, NOW)
