"""The rotation rule: fairness over random seasons, the note-taker rule, explanations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules.rotation import HOST, NOTES, Assignment, MeetingInput, RosterEntry, replay

T0 = datetime(2022, 3, 1, 16, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
HOSTS = [f"h{i}" for i in range(5)]
SCRIBES = [f"n{i}" for i in range(5)]


@dataclass
class Week:
    cancelled: bool
    skips: frozenset[str]
    authors: dict[str, int]
    overrides: dict[str, str]
    joins: list[tuple[str, str]] = field(default_factory=list)  # (member, duty) joining before this meeting
    leaves: list[tuple[str, str]] = field(default_factory=list)


@st.composite
def seasons(draw: st.DrawFn, shared_rosters: bool = False) -> tuple[list[RosterEntry], list[MeetingInput], list[Week]]:
    people = HOSTS + SCRIBES
    weeks: list[Week] = []
    count = draw(st.integers(min_value=1, max_value=16))
    for _ in range(count):
        weeks.append(Week(
            cancelled=draw(st.booleans().filter(lambda _: True)) and draw(st.integers(0, 4)) == 0,
            skips=frozenset(draw(st.sets(st.sampled_from(people), max_size=3))),
            authors={a: draw(st.integers(1, 2)) for a in draw(st.sets(st.sampled_from(people), max_size=3))},
            overrides=({draw(st.sampled_from([HOST, NOTES])): draw(st.sampled_from(people))}
                       if draw(st.integers(0, 6)) == 0 else {}),
            joins=[(m, d) for m, d in draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from([HOST, NOTES])),
                                                    max_size=2))],
            leaves=[(m, d) for m, d in draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from([HOST, NOTES])),
                                                     max_size=1))],
        ))
    initial_hosts = draw(st.sets(st.sampled_from(HOSTS + (SCRIBES if shared_rosters else [])), min_size=1))
    initial_scribes = draw(st.sets(st.sampled_from(SCRIBES + (HOSTS if shared_rosters else [])), min_size=1))
    roster: list[RosterEntry] = []
    open_stints: dict[tuple[str, str], RosterEntry] = {}
    order = 0

    def join(member: str, duty: str, at: datetime) -> None:
        nonlocal order
        if (member, duty) in open_stints:
            return
        order += 1
        entry = RosterEntry(member, duty, at, None, order)
        open_stints[(member, duty)] = entry

    def leave(member: str, duty: str, at: datetime) -> None:
        entry = open_stints.pop((member, duty), None)
        if entry is not None:
            roster.append(RosterEntry(entry.member, entry.duty, entry.joined_at, at, entry.order))

    start = T0 - timedelta(days=30)
    for member in sorted(initial_hosts):
        join(member, HOST, start)
    for member in sorted(initial_scribes):
        join(member, NOTES, start)
    meetings = []
    for index, week in enumerate(weeks):
        decided = T0 + index * WEEK
        for member, duty in week.leaves:
            leave(member, duty, decided - timedelta(days=2))
        for member, duty in week.joins:
            join(member, duty, decided - timedelta(days=1))
        meetings.append(MeetingInput(key=str(index), decided_at=decided, cancelled=week.cancelled, skips=week.skips,
                                     overrides=week.overrides, authors=week.authors))
    roster.extend(open_stints.values())
    return roster, meetings, weeks


def on_roster(roster: list[RosterEntry], member: str, duty: str, at: datetime) -> bool:
    return any(e.member == member and e.duty == duty and e.active_at(at) for e in roster)


def available(roster: list[RosterEntry], meeting: MeetingInput, assignment: Assignment, member: str,
              duty: str) -> bool:
    """On the roster, not skipping, neither given nor denied a turn by an override (a chair's
    assignment or a swap), and for notes neither the host nor an agenda author."""
    return (on_roster(roster, member, duty, meeting.decided_at) and member not in meeting.skips
            and duty not in meeting.overrides and member not in meeting.overrides.values()
            and not (duty == NOTES and (member == assignment.host.member or meeting.authors.get(member))))


def check_windows(roster: list[RosterEntry], meetings: list[MeetingInput], assignments: list[Assignment],
                  duty: str) -> None:
    """For every run of meetings [lo, hi]: among the members who were available at every held meeting
    of the season up to hi (so they carry no debt from before the run), counts differ by at most one."""
    everyone = sorted({e.member for e in roster if e.duty == duty})
    steady = set(everyone)
    for hi, meeting in enumerate(meetings):
        if not meeting.cancelled:
            steady = {m for m in steady if available(roster, meeting, assignments[hi], m, duty)}
        if len(steady) < 2:
            return
        for lo in range(hi + 1):
            counts = {m: 0 for m in steady}
            for i in range(lo, hi + 1):
                picked = assignments[i].member(duty)
                if picked in counts:
                    counts[picked] += 1
            assert max(counts.values()) - min(counts.values()) <= 1, (duty, lo, hi, counts)


@settings(max_examples=150, deadline=None)
@given(seasons())
def test_counts_differ_by_at_most_one_among_members_available_throughout(
        season: tuple[list[RosterEntry], list[MeetingInput], list[Week]]) -> None:
    roster, meetings, _weeks = season
    assignments, _ = replay(roster, meetings)
    check_windows(roster, meetings, assignments, HOST)
    check_windows(roster, meetings, assignments, NOTES)


@settings(max_examples=150, deadline=None)
@given(seasons(shared_rosters=True))
def test_every_pick_is_allowed(season: tuple[list[RosterEntry], list[MeetingInput], list[Week]]) -> None:
    roster, meetings, _weeks = season
    assignments, _ = replay(roster, meetings)
    for meeting, assignment in zip(meetings, assignments, strict=True):
        if meeting.cancelled:
            assert assignment.host.member is None and assignment.notes.member is None
            continue
        host, notes = assignment.host.member, assignment.notes.member
        assert host is None or notes is None or host != notes, "the note-taker is never the host"
        for duty, member in ((HOST, host), (NOTES, notes)):
            if member is None:
                continue
            if meeting.overrides.get(duty) == member:
                continue
            assert on_roster(roster, member, duty, meeting.decided_at), "members who left are not picked"
            assert member not in meeting.skips
        if notes is not None and meeting.overrides.get(NOTES) != notes:
            candidates = [e.member for e in roster if e.duty == NOTES and e.active_at(meeting.decided_at)
                          and e.member not in meeting.skips and e.member != host]
            fewest = min(meeting.authors.get(c, 0) for c in candidates)
            assert meeting.authors.get(notes, 0) == fewest, "the least involved takes notes"
        for pick in (assignment.host, assignment.notes):
            assert pick.reason


@settings(max_examples=100, deadline=None)
@given(seasons(shared_rosters=True))
def test_cancelled_meetings_consume_no_turn(season: tuple[list[RosterEntry], list[MeetingInput], list[Week]]) -> None:
    roster, meetings, _weeks = season
    with_cancelled, _ = replay(roster, meetings)
    held_only, _ = replay(roster, [m for m in meetings if not m.cancelled])
    kept = [a for a in with_cancelled if not a.cancelled]
    assert [(a.host.member, a.notes.member) for a in kept] == [(a.host.member, a.notes.member) for a in held_only]


@settings(max_examples=100, deadline=None)
@given(seasons(shared_rosters=True))
def test_replay_is_deterministic_and_fixed_meetings_replay_the_same(
        season: tuple[list[RosterEntry], list[MeetingInput], list[Week]]) -> None:
    roster, meetings, _weeks = season
    first, _ = replay(roster, meetings)
    # Fixing each meeting as it was picked changes nothing that follows.
    fixed = [MeetingInput(m.key, m.decided_at, m.cancelled, {HOST: a.host.member, NOTES: a.notes.member}, m.skips,
                          m.overrides, m.override_reasons, m.authors)
             for m, a in zip(meetings, first, strict=True)]
    half = len(meetings) // 2
    again, _ = replay(list(reversed(roster)), fixed[:half] + list(meetings[half:]))
    assert [(a.host.member, a.notes.member) for a in again] == [(a.host.member, a.notes.member) for a in first]


def _entries(duty: str, *members: str) -> list[RosterEntry]:
    return [RosterEntry(m, duty, T0 - timedelta(days=1), None, i) for i, m in enumerate(members)]


def test_note_taker_is_not_an_author_when_someone_else_is_free() -> None:
    roster = _entries(HOST, "alice") + _entries(NOTES, "bob", "carol", "dan")
    meeting = MeetingInput("1", T0, authors={"bob": 1, "carol": 2})
    (assignment,), _ = replay(roster, [meeting], {"bob": "Bob", "carol": "Carol", "dan": "Dan"})
    assert assignment.notes.member == "dan"
    assert "Bob and Carol wrote agenda items" in assignment.notes.reason


def test_when_everyone_is_involved_the_least_involved_takes_notes() -> None:
    roster = _entries(HOST, "alice") + _entries(NOTES, "bob", "carol", "dan")
    meeting = MeetingInput("1", T0, authors={"bob": 2, "carol": 1, "dan": 3})
    (assignment,), _ = replay(roster, [meeting])
    assert assignment.notes.member == "carol"
    assert "wrote the fewest" in assignment.notes.reason


def test_note_taker_is_never_the_host_even_when_only_the_host_is_left() -> None:
    roster = _entries(HOST, "alice") + _entries(NOTES, "alice")
    (assignment,), _ = replay(roster, [MeetingInput("1", T0)])
    assert assignment.host.member == "alice"
    assert assignment.notes.member is None
    assert "nobody on the notes roster is available" in assignment.notes.reason


def test_explanation_names_counts_and_skippers() -> None:
    roster = _entries(HOST, "alice", "bob", "carol", "dan")
    names = {"alice": "alice", "bob": "bob", "carol": "carol", "dan": "dan"}
    meetings = [MeetingInput(str(i), T0 + i * WEEK) for i in range(4)]
    meetings.append(MeetingInput("4", T0 + 4 * WEEK, skips=frozenset({"alice"})))
    assignments, rotation = replay(roster, meetings, names)
    assert [a.host.member for a in assignments] == ["alice", "bob", "carol", "dan", "bob"]
    assert assignments[4].host.reason == ("bob: 1 turn before this meeting, tied on turns with 2 others and "
                                          "longest since their last turn; alice skipped")
    # alice owes the turn she skipped and takes the next meeting
    after, _ = replay(roster, [*meetings, MeetingInput("5", T0 + 5 * WEEK)], names)
    assert after[5].host.member == "alice"
    assert after[5].host.reason == ("alice: 1 turn before this meeting, tied on turns with 2 others and longest "
                                    "since their last turn")
    assert rotation.counts(HOST) == {"alice": 1, "bob": 2, "carol": 1, "dan": 1}


def test_a_newcomer_does_not_take_a_run_of_turns() -> None:
    roster = _entries(HOST, "alice", "bob")
    roster.append(RosterEntry("carol", HOST, T0 + 5 * WEEK, None, 9))
    meetings = [MeetingInput(str(i), T0 + i * WEEK) for i in range(10)]
    assignments, _ = replay(roster, meetings)
    picks = [a.host.member for a in assignments]
    assert picks[:5] == ["alice", "bob", "alice", "bob", "alice"]
    # carol starts level with the fewest turns of the others, goes first (she never served), then takes
    # her place in the cycle instead of hosting three meetings in a row to catch up
    assert picks[5:] == ["carol", "bob", "alice", "carol", "bob"]


def test_a_long_absence_owes_at_most_one_turn() -> None:
    roster = _entries(HOST, "alice", "bob", "carol")
    meetings = [MeetingInput(str(i), T0 + i * WEEK, skips=frozenset({"alice"}) if i < 9 else frozenset())
                for i in range(12)]
    picks = [a.host.member for a in replay(roster, meetings)[0]]
    assert picks[9:12].count("alice") == 1
