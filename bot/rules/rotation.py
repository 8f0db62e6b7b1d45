"""Who hosts and who takes notes: a fair rotation over each series' rosters.

The rule replays a series' meetings in order. For each meeting that is not cancelled it picks, per duty,
the eligible member who has served the fewest turns (ties: longest since their last turn, then roster
join order, then member id), unless the turn was fixed already, given by a chair, or swapped. Because
every pick is the fewest-turns member among those eligible, the members who are available at every
meeting of a run take turns in a cycle: their counts never differ by more than one.

Two adjustments keep that fair for people who come and go, rather than letting debts pile up:

- a member who joins (or rejoins) the roster starts at the fewest turns of the others, so a newcomer
  does not host five meetings in a row to "catch up";
- a member left out of a meeting (they skipped it, they host it, or they wrote an agenda item and
  someone less involved was free) is raised to the fewest turns of those who were considered, so they
  owe at most the one turn they missed, not a long run after a holiday.

Cancelled meetings are left out entirely: they consume no turn. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HOST = "host"
NOTES = "notes"
DUTIES = (HOST, NOTES)
DUTY_WORDS = {HOST: "host", NOTES: "note-taker"}


@dataclass(frozen=True)
class RosterEntry:
    """One stint of a member on a duty's roster: from ``joined_at`` until ``left_at`` (None: still on it)."""

    member: str
    duty: str
    joined_at: datetime
    left_at: datetime | None = None
    order: int = 0  # join order (the row id), the last tie-break before the member id

    def active_at(self, instant: datetime) -> bool:
        return self.joined_at <= instant and (self.left_at is None or self.left_at > instant)


@dataclass(frozen=True)
class MeetingInput:
    """What the rule needs to know of one meeting. ``decided_at`` is when its assignment is (or was)
    fixed: the agenda deadline; the roster as it stood then is the one that counts."""

    key: str
    decided_at: datetime
    cancelled: bool = False
    # The assignment already fixed for this meeting, if it was fixed: duty -> member (or None).
    fixed: Mapping[str, str | None] | None = None
    skips: frozenset[str] = frozenset()
    # duty -> member given the turn by a chair, or by an accepted swap; a chair's word wins (the
    # service merges the two and says which in ``override_reasons``).
    overrides: Mapping[str, str] = field(default_factory=dict)
    override_reasons: Mapping[str, str] = field(default_factory=dict)
    # member -> number of items they wrote on this meeting's agenda.
    authors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Pick:
    duty: str
    member: str | None
    reason: str


@dataclass(frozen=True)
class Assignment:
    key: str
    host: Pick
    notes: Pick
    fixed: bool
    cancelled: bool = False

    def member(self, duty: str) -> str | None:
        return self.host.member if duty == HOST else self.notes.member

    def pick(self, duty: str) -> Pick:
        return self.host if duty == HOST else self.notes


@dataclass
class _Standing:
    """Per member and duty: turns counted for fairness, and the index of their last turn."""

    turns: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)  # real turns, for explanations
    last: dict[str, int] = field(default_factory=dict)
    active_before: set[str] = field(default_factory=set)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _name(member: str, names: Mapping[str, str]) -> str:
    return names.get(member, member.split(":")[-1])


def _join_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Rotation:
    """Replays meetings in order and yields each one's assignment (fixed, or as it would be picked)."""

    def __init__(self, roster: Iterable[RosterEntry], names: Mapping[str, str] | None = None) -> None:
        self.roster = sorted(roster, key=lambda e: (e.joined_at, e.order, e.member))
        self.names = dict(names or {})
        self.standing = {duty: _Standing() for duty in DUTIES}
        self.index = 0

    def active(self, duty: str, instant: datetime) -> list[str]:
        """Members on the duty's roster at ``instant``, in join order (a member listed once)."""
        seen: dict[str, int] = {}
        for entry in self.roster:
            if entry.duty == duty and entry.active_at(instant) and entry.member not in seen:
                seen[entry.member] = len(seen)
        return list(seen)

    def _join_order(self, duty: str) -> dict[str, int]:
        order: dict[str, int] = {}
        for entry in self.roster:
            if entry.duty == duty and entry.member not in order:
                order[entry.member] = len(order)
        return order

    def _key(self, duty: str, member: str, order: Mapping[str, int]) -> tuple[int, int, int, str]:
        standing = self.standing[duty]
        return (standing.turns.get(member, 0), standing.last.get(member, -1), order.get(member, 1 << 30), member)

    def _welcome_newcomers(self, duty: str, active: list[str]) -> None:
        standing = self.standing[duty]
        newcomers = [m for m in active if m not in standing.active_before]
        others = [standing.turns.get(m, 0) for m in active if m in standing.active_before]
        if others:
            floor = min(others)
            for member in newcomers:
                standing.turns[member] = max(standing.turns.get(member, 0), floor)
        standing.active_before = set(active)

    def step(self, meeting: MeetingInput) -> Assignment:
        if meeting.cancelled:
            empty = "the meeting is cancelled; cancelled meetings take no turn"
            return Assignment(meeting.key, Pick(HOST, None, empty), Pick(NOTES, None, empty),
                              fixed=meeting.fixed is not None, cancelled=True)
        host = self._step_duty(HOST, meeting, host=None)
        notes = self._step_duty(NOTES, meeting, host=host.member)
        self.index += 1
        return Assignment(meeting.key, host, notes, fixed=meeting.fixed is not None)

    def _step_duty(self, duty: str, meeting: MeetingInput, host: str | None) -> Pick:
        standing = self.standing[duty]
        active = self.active(duty, meeting.decided_at)
        self._welcome_newcomers(duty, active)
        order = self._join_order(duty)
        skipped = [m for m in active if m in meeting.skips]
        candidates = [m for m in active if m not in meeting.skips and m != host]
        notes_on = duty == NOTES
        uninvolved = [m for m in candidates if not meeting.authors.get(m)] if notes_on else candidates
        pool = uninvolved or candidates
        if notes_on and not uninvolved and candidates:
            fewest_items = min(meeting.authors.get(m, 0) for m in candidates)
            pool = [m for m in candidates if meeting.authors.get(m, 0) == fewest_items]

        fixed = meeting.fixed is not None
        override = meeting.overrides.get(duty)
        if override is not None and duty == NOTES and override == host:
            override = None  # the note-taker is never the host; fall back to the fair pick
        if fixed:
            assert meeting.fixed is not None
            member = meeting.fixed.get(duty)
            reason = (f"{_name(member, self.names)}: fixed at the agenda deadline" if member
                      else f"nobody was on the {duty} roster when the assignment was fixed")
        elif override is not None:
            member = override
            reason = f"{_name(member, self.names)}: " + meeting.override_reasons.get(duty, "assigned by a chair")
        elif pool:
            member = min(pool, key=lambda m: self._key(duty, m, order))
            reason = self._explain(duty, member, pool, skipped, host if notes_on and host in active else None,
                                   [m for m in candidates if m not in pool], meeting)
        else:
            member = None
            if not active:
                reason = f"nobody is on the {duty} roster: /rotation join {duty} adds you"
            else:
                left_out = [*skipped, *([host] if host in active else [])]
                reason = (f"nobody on the {duty} roster is available ("
                          f"{_join_list([_name(m, self.names) for m in left_out])} cannot)")

        # Members left out of this meeting owe at most this one turn (see the module docstring).
        considered = [standing.turns.get(m, 0) for m in pool]
        if considered:
            floor = min(considered)
            for left_out_member in active:
                if left_out_member not in pool and left_out_member != member:
                    standing.turns[left_out_member] = max(standing.turns.get(left_out_member, 0), floor)
        if member is not None:
            standing.turns[member] = standing.turns.get(member, 0) + 1
            standing.served[member] = standing.served.get(member, 0) + 1
            standing.last[member] = self.index
        return Pick(duty, member, reason)

    def _explain(self, duty: str, member: str, pool: list[str], skipped: list[str], host: str | None,
                 involved: list[str], meeting: MeetingInput) -> str:
        standing = self.standing[duty]
        turns = standing.turns.get(member, 0)
        served = standing.served.get(member, 0)
        tied = [m for m in pool if standing.turns.get(m, 0) == turns]
        head = f"{_name(member, self.names)}: {_plural(served, 'turn')} before this meeting"
        if len(pool) == 1:
            head += ", the only one available"
        elif len(tied) == 1:
            head += f", fewest among {len(pool)} available"
        else:
            lasts = {standing.last.get(m, -1) for m in tied}
            why = "longest since their last turn" if len(lasts) > 1 else "earliest on the roster"
            head += f", tied on turns with {len(tied) - 1} other{'s' if len(tied) > 2 else ''} and {why}"
        notes = []
        if skipped:
            notes.append(f"{_join_list([_name(m, self.names) for m in skipped])} skipped")
        if host is not None:
            notes.append(f"{_name(host, self.names)} hosts")
        if involved:
            notes.append(f"{_join_list([_name(m, self.names) for m in involved])} wrote agenda items")
        if duty == NOTES and meeting.authors.get(member):
            notes.append(f"everyone available wrote items; {_name(member, self.names)} wrote the fewest")
        return head + ("; " + "; ".join(notes) if notes else "")

    def counts(self, duty: str) -> dict[str, int]:
        """Turns actually served so far per member (what /rotation show lists)."""
        return dict(self.standing[duty].served)

    def snapshot(self) -> dict[str, Any]:
        """Everything the picks of later meetings depend on, as plain JSON-able data: a replay resumed
        from it (``resume``) picks exactly as one that replayed the meetings before it. The roster is
        not part of it: it is passed again, and stints only ever end or start after the meetings
        already replayed (see bot/services/rotation.py)."""
        return {"index": self.index, "duties": {
            duty: {"turns": dict(s.turns), "served": dict(s.served), "last": dict(s.last),
                   "active_before": sorted(s.active_before)}
            for duty, s in self.standing.items()}}

    @classmethod
    def resume(cls, roster: Iterable[RosterEntry], state: Mapping[str, Any],
               names: Mapping[str, str] | None = None) -> Rotation:
        """A rotation continuing where ``snapshot()`` left off."""
        rotation = cls(roster, names)
        rotation.index = int(state["index"])
        for duty, saved in state["duties"].items():
            rotation.standing[duty] = _Standing(
                turns={m: int(n) for m, n in saved["turns"].items()},
                served={m: int(n) for m, n in saved["served"].items()},
                last={m: int(n) for m, n in saved["last"].items()},
                active_before=set(saved["active_before"]))
        return rotation


def replay(roster: Iterable[RosterEntry], meetings: Sequence[MeetingInput],
           names: Mapping[str, str] | None = None) -> tuple[list[Assignment], Rotation]:
    """Every meeting's assignment, in the order given (which must be time order), and the final state."""
    rotation = Rotation(roster, names)
    return [rotation.step(m) for m in meetings], rotation
