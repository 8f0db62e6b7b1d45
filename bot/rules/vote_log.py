"""Reading a vote back from its log: replaying the events into the whole state of the vote (what opened
it, its electorate with where each member came from, every current ballot, the close and the outcome),
and comparing every field a database or an export states with it, derived ones included (tallies,
outcome, the result's explanation). A row edited in place does not break the hash chain, but it no
longer agrees with the replayed log, which is how it is caught; the first mismatch is named by vote,
field and value.

Event formats. Format 1 (votes opened before issue 17) logged the title, link, rule, binding role,
opener, deadline and electorate (ids and names) at opening, each ballot's voter, name, value, comment
and binding, and the close's time, closer, force flag, outcome and explanation. Format 2 (``"format": 2``
in the opening event) adds the workspace, the channel, each electorate member's source and the exact
instants (microseconds), and the closer's name and the reason of the close. A field a format-1 log does
not have is not checked (it cannot be: old chains are never re-hashed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.rules.audit import ChainCheck, ChainProblem, Event, Steps, electorate_digest, run_steps
from bot.rules.votes import Tally, counted_as, decide_tally

EVENT_FORMAT = 2  # the format new votes are logged in (see the module docstring)


class _Unlogged:
    """A field the vote's log format does not record: not checked."""

    def __repr__(self) -> str:
        return "(not logged)"


UNLOGGED: Any = _Unlogged()

# The vote-level fields, in the order they are checked: a database's columns and an export's keys are
# both mapped onto these names (bot/services/vote_audit.py).
VOTE_FIELDS = (
    "workspace", "number", "title", "link", "rule", "binding_role", "opened_by", "opened_by_name", "opened_at",
    "closes_at", "short_forced", "channel_id", "electorate_digest", "electorate_size", "opened_digest", "status",
    "closed_at", "closed_by", "closed_by_name", "close_forced", "tally", "outcome", "explanation", "head_digest",
)
TIME_FIELDS = frozenset({"opened_at", "closes_at", "closed_at", "cast_at", "seen_at"})


def same_instant(a: Any, b: Any) -> bool:
    """Two logged instants (``2022-03-01T12:00:00.123456Z`` or ``2022-03-01T12:00:00Z``) are the same at
    the coarser of their two precisions: an export writes seconds, the log of format 2 microseconds."""
    if not isinstance(a, str) or not isinstance(b, str):
        return bool(a == b)
    if "." in a and "." in b:
        return a == b
    return a[:19] == b[:19] and a.endswith("Z") and b.endswith("Z")


def _same(name: str, expected: Any, stated: Any) -> bool:
    if expected is UNLOGGED or stated is UNLOGGED:  # not in this log's format, or not in this export
        return True
    if name.rsplit(".", 1)[-1] in TIME_FIELDS:
        return same_instant(expected, stated)
    return bool(expected == stated) and type(expected) is type(stated)


@dataclass(frozen=True)
class LoggedBallot:
    voter: str
    voter_name: str
    value: str
    comment: Any  # str | None, or UNLOGGED
    binding: bool
    at: str


class StatedBallot(NamedTuple):
    """A current ballot as a database or an export states it; times as logged strings."""

    voter: str
    voter_name: str
    value: str
    comment: str | None
    binding: bool
    cast_at: str
    changes: int


class StatedMember(NamedTuple):
    member_id: str
    display_name: str
    source: str | None
    seen_at: str | None


@dataclass(frozen=True)
class StatedVote:
    """What a database or an export says about a vote, to be checked against its log. ``fields`` has
    the ``VOTE_FIELDS`` it states (a key left out is not stated there and not checked); ``ballots`` are
    in the stated order (the order members first voted)."""

    id: int
    fields: Mapping[str, Any]
    electorate: tuple[StatedMember, ...]
    ballots: Sequence[StatedBallot]
    events: tuple[Event, ...] = field(default=())

    @property
    def head_digest(self) -> str | None:
        value = self.fields.get("head_digest")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Replayed:
    opened: Mapping[str, Any]
    ballots: dict[str, LoggedBallot]  # voter -> latest ballot, in the order voters first voted
    closed: Mapping[str, Any] | None
    history: tuple[LoggedBallot, ...]  # every ballot and change, in order


def replay(events: Sequence[Event]) -> Replayed:
    """The state the log describes. Assumes the chain itself verified."""
    opened: Mapping[str, Any] = {}
    closed: Mapping[str, Any] | None = None
    current: dict[str, LoggedBallot] = {}
    history: list[LoggedBallot] = []
    for event in events:
        if event.kind == "open":
            opened = event.payload
        elif event.kind in ("ballot", "change"):
            ballot = _logged(event)
            current[ballot.voter] = ballot
            history.append(ballot)
        elif event.kind == "close":
            closed = event.payload
    return Replayed(opened, current, closed, tuple(history))


def _logged(event: Event) -> LoggedBallot:
    payload = event.payload
    return LoggedBallot(str(payload["voter"]), str(payload.get("voter_name", "")), str(payload["value"]),
                        payload.get("comment", UNLOGGED), bool(payload["binding"]),
                        event.at)


def check_vote(stated: StatedVote) -> ChainProblem | None:
    """The first thing about the vote that its log does not back, or None."""
    check = LogCheck(stated.id)
    for event in stated.events:
        check.add(event)
    return run_steps(check.end_steps(stated))


class _Current:
    """A voter's current ballot as the log has it, with its history's count and first-vote position."""

    __slots__ = ("ballot", "changes", "position")

    def __init__(self, ballot: LoggedBallot, position: int) -> None:
        self.ballot = ballot
        self.changes = 0
        self.position = position


class LogCheck:
    """``check_vote`` for a log read a page at a time: ``add`` each event in stored order, then step
    through ``end_steps`` with what the tables state (its ``events`` are not read)."""

    def __init__(self, vote_id: int) -> None:
        self.vote_id = vote_id
        self.chain = ChainCheck(vote_id)
        self.first_kind: str | None = None
        self.first_hash: str | None = None
        self.first_at: str | None = None
        self.opened: Mapping[str, Any] = {}
        self.opens = 0
        self.closes: list[int] = []  # sequence numbers of close events
        self.closed: Mapping[str, Any] | None = None
        self.closed_event_at: str | None = None
        self.last_seq = 0
        self.electorate: dict[str, tuple[str, str | None, str | None]] = {}  # id -> (name, source, seen at)
        self.misbound: LoggedBallot | None = None  # the first ballot whose binding the electorate contradicts
        self.current: dict[str, _Current] = {}  # voter -> current ballot, in first-vote order

    @property
    def format(self) -> int:
        value = self.opened.get("format", 1)
        return value if isinstance(value, int) else 0

    def add(self, event: Event) -> None:
        if self.chain.add(event) is not None:
            return  # the chain's problem is the one reported: what an altered event says is not read
        self.last_seq = event.seq
        if self.first_kind is None:
            self.first_kind, self.first_hash, self.first_at = event.kind, event.hash, event.at
        if event.kind == "open":
            self.opens += 1
            if self.opens == 1:
                self.opened = event.payload
                self.electorate = {str(m[0]): _member_entry(m) for m in event.payload.get("electorate", [])}
        elif event.kind in ("ballot", "change"):
            ballot = _logged(event)
            if self.misbound is None and ballot.binding != (ballot.voter in self.electorate):
                self.misbound = ballot
            known = self.current.get(ballot.voter)
            if known is None:
                self.current[ballot.voter] = _Current(ballot, len(self.current))
            else:
                known.ballot = ballot
                known.changes += 1
        elif event.kind == "close":
            self.closes.append(event.seq)
            self.closed = event.payload
            self.closed_event_at = event.at

    # -- what the log says ---------------------------------------------------------------------------
    def tally(self) -> tuple[Tally, Tally]:
        counts = {True: {"plus": 0, "zero": 0, "minus": 0}, False: {"plus": 0, "zero": 0, "minus": 0}}
        for entry in self.current.values():
            counts[entry.ballot.binding][counted_as(entry.ballot.value)] += 1
        return Tally(**counts[True]), Tally(**counts[False])

    def expected_fields(self) -> dict[str, Any]:
        """Every vote-level field as the log decides it (``UNLOGGED`` where its format has none)."""
        opened, closed, v2 = self.opened, self.closed, self.format >= 2

        def logged(payload: Mapping[str, Any] | None, key: str) -> Any:
            if payload is None:
                return None
            return payload.get(key, UNLOGGED)

        binding, other = self.tally()
        decision = decide_tally(str(opened["rule"]), binding, other, len(self.electorate)) if closed else None
        ids = sorted(self.electorate)
        return {
            "workspace": logged(opened, "workspace") if v2 else UNLOGGED,
            # The number members type (#3) is logged since per-workspace numbers; older logs do not say it.
            "number": logged(opened, "number"),
            "title": logged(opened, "title"), "link": logged(opened, "link"), "rule": logged(opened, "rule"),
            "binding_role": logged(opened, "binding_role"), "opened_by": logged(opened, "opened_by"),
            "opened_by_name": logged(opened, "opened_by_name"),
            "opened_at": logged(opened, "opened_at"), "closes_at": logged(opened, "closes_at"),
            "short_forced": logged(opened, "short_forced"),
            "channel_id": logged(opened, "channel_id") if v2 else UNLOGGED,
            "electorate_digest": electorate_digest(ids), "electorate_size": len(ids),
            "opened_digest": self.first_hash,
            "status": "closed" if closed is not None else "open",
            "closed_at": logged(closed, "closed_at"), "closed_by": logged(closed, "closed_by"),
            "closed_by_name": logged(closed, "closed_by_name"),
            "close_forced": logged(closed, "forced") if closed is not None else False,
            "tally": {"binding": binding.as_dict(), "non_binding": other.as_dict()},
            "outcome": decision.outcome if decision else None,
            "explanation": decision.explanation if decision else None,
            "head_digest": self.chain.prev_hash,
        }

    # -- the checks ----------------------------------------------------------------------------------
    def _log_problem(self) -> ChainProblem | None:
        """What is wrong inside the log itself, before any table is compared with it."""
        vid = self.vote_id
        if self.first_kind != "open":
            return ChainProblem(vid, 1, f"vote #{vid}'s log does not start with its opening.")
        if self.opens > 1:
            return ChainProblem(vid, None, f"vote #{vid}'s log opens the vote twice.")
        if len(self.closes) > 1 or (self.closes and self.closes[0] != self.last_seq):
            return ChainProblem(vid, self.closes[-1], f"vote #{vid}'s log has events after its close.")
        opened = self.opened
        if self.format not in (1, 2):
            return ChainProblem(vid, 1, f"vote #{vid}'s log is in an unknown format {opened.get('format')!r}.")
        required: tuple[str, ...] = ("title", "rule", "electorate", "electorate_digest")
        if self.format >= 2:
            required += ("workspace", "link", "binding_role", "opened_by", "opened_at", "closes_at", "short_forced",
                         "channel_id")
        missing = [key for key in required if key not in opened]
        if missing:
            return ChainProblem(vid, 1, f"vote #{vid}'s opening event lacks {', '.join(missing)}.")
        if opened.get("electorate_digest") != electorate_digest(self.electorate):
            return ChainProblem(vid, 1, f"vote #{vid}'s opening event has an electorate that does not match "
                                "its electorate digest.")
        if self.format >= 2 and opened.get("opened_at") != self.first_at:
            return ChainProblem(vid, 1, f"vote #{vid}'s opening event says it opened at {opened.get('opened_at')!r}"
                                f" but is dated {self.first_at!r}.")
        if self.misbound is not None:
            ballot = self.misbound
            return ChainProblem(vid, None, f"vote #{vid}: the log marks {ballot.voter}'s ballot "
                                f"{'binding' if ballot.binding else 'non-binding'}, which the electorate does not.")
        if self.closed is not None:
            binding, other = self.tally()
            decision = decide_tally(str(opened["rule"]), binding, other, len(self.electorate))
            seq = self.closes[0]
            if self.closed.get("outcome") != decision.outcome:
                return ChainProblem(vid, seq, f"vote #{vid}'s close event records "
                                    f"{self.closed.get('outcome')!r} but its ballots give {decision.outcome!r}.")
            if "explanation" in self.closed and self.closed["explanation"] != decision.explanation:
                return ChainProblem(vid, seq, f"vote #{vid}'s close event explains "
                                    f"{self.closed['explanation']!r} but its ballots give {decision.explanation!r}.")
            if self.format >= 2 and (problem := self._close_problem(seq)) is not None:
                return problem
            if "tally" in self.closed and self.closed["tally"] != {"binding": binding.as_dict(),
                                                                   "non_binding": other.as_dict()}:
                return ChainProblem(vid, seq, f"vote #{vid}'s close event records the tally "
                                    f"{self.closed['tally']!r}, which its ballots do not give.")
        return None

    def _close_problem(self, seq: int) -> ChainProblem | None:
        """A format-2 close whose why does not fit its who and when: a close at the deadline is by nobody
        and at the deadline; an early one is by a member, and forced exactly when some member of the
        electorate had not voted (bot/services/votes.py ``close``)."""
        closed, vid = self.closed or {}, self.vote_id
        reason, by, forced = closed.get("reason"), closed.get("closed_by"), closed.get("forced")
        everyone = all(m in self.current and self.current[m].ballot.binding for m in self.electorate)
        fits = {"deadline": by is None and not forced and same_instant(closed.get("closed_at"),
                                                                       self.opened.get("closes_at")),
                "all-voted": by is not None and not forced and everyone,
                "forced": by is not None and forced is True and not everyone}
        if not fits.get(str(reason), False):
            return ChainProblem(vid, seq, f"vote #{vid}'s close event gives the reason {reason!r}, which its "
                                f"closer ({by!r}), force flag ({forced!r}) and time do not fit.", field="close")
        return None

    def end_steps(self, stated: StatedVote, every: int = 1000) -> Steps[ChainProblem | None]:
        """The first problem, in the order: the chain, the log itself, the vote's fields, its electorate,
        its ballots; pauses (yields) after every ``every`` ballots."""
        problem = self.chain.end(stated.head_digest) or self._log_problem()
        if problem is not None:
            return problem
        vid = self.vote_id

        def differs(name: str, logged: Any, found: Any) -> ChainProblem:
            return ChainProblem(vid, None, f"vote #{vid}: its {name} is {found!r} but the log says {logged!r}.",
                                field=name)

        expected = self.expected_fields()
        for name in VOTE_FIELDS:
            if name in stated.fields and not _same(name, expected[name], stated.fields[name]):
                if name == "tally" and isinstance(stated.fields[name], Mapping):
                    return _tally_differs(vid, expected[name], stated.fields[name])
                return differs(name, expected[name], stated.fields[name])
        stated_ids = [m.member_id for m in stated.electorate]
        if sorted(stated_ids) != sorted(self.electorate) or len(set(stated_ids)) != len(stated_ids):
            return differs("electorate", sorted(self.electorate), sorted(stated_ids))
        for member in stated.electorate:
            name, source, seen = self.electorate[member.member_id]
            logged_member = {"display_name": name, "source": source, "seen_at": seen}
            for key, value in (("display_name", member.display_name), ("source", member.source),
                               ("seen_at", member.seen_at)):
                if not _same(key, logged_member[key], value):
                    return differs(f"electorate member {member.member_id}'s {key}", logged_member[key], value)
        seen_voters: set[str] = set()
        misplaced: ChainProblem | None = None
        for position, ballot in enumerate(stated.ballots):
            if position and position % every == 0:
                yield
            entry = self.current.get(ballot.voter)
            if entry is None or ballot.voter in seen_voters:
                return ChainProblem(vid, None, f"vote #{vid}: there is a ballot of {ballot.voter} that the log "
                                    "does not have.", field="ballots")
            seen_voters.add(ballot.voter)
            logged = entry.ballot
            if (ballot.value, ballot.binding) != (logged.value, logged.binding):
                return ChainProblem(vid, None, f"vote #{vid}: the ballot of {ballot.voter} says {ballot.value}"
                                    f"{' (binding)' if ballot.binding else ''} but the log says {logged.value}"
                                    f"{' (binding)' if logged.binding else ''}.", field="ballot.value")
            for key, found, want in _ballot_fields(ballot, logged, entry.changes):
                if want is not UNLOGGED and not _same(key, want, found):
                    return differs(f"ballot of {ballot.voter}: {key}", want, found)
            if entry.position != position and misplaced is None:
                # Reported after the missing ones: a ballot removed moves every later one up.
                misplaced = ChainProblem(vid, None, f"vote #{vid}: the ballot of {ballot.voter} is listed as "
                                         f"number {position + 1} but the log has it cast number "
                                         f"{entry.position + 1}.", field="ballot order")
        for index, voter in enumerate(self.current):
            if index and index % every == 0:
                yield
            if voter not in seen_voters:
                return ChainProblem(vid, None, f"vote #{vid}: the ballot of {voter} is in the log but missing.",
                                    field="ballots")
        return misplaced


def _tally_differs(vote_id: int, logged: Mapping[str, Mapping[str, int]], found: Mapping[str, Any]) -> ChainProblem:
    """Name the one count of a tally that differs: ``running tally (non_binding +1)``."""
    for side, counts in logged.items():
        found_side = found.get(side)
        for key, count in counts.items():
            value = found_side.get(key) if isinstance(found_side, Mapping) else found_side
            if value != count or type(value) is not int:
                return ChainProblem(vote_id, None, f"vote #{vote_id}: its running tally ({side} {key}) is {value!r} "
                                    f"but the log's ballots give {count!r}.", field=f"tally.{side}.{key}")
    return ChainProblem(vote_id, None, f"vote #{vote_id}: its running tally is {dict(found)!r} but the log's "
                        f"ballots give {dict(logged)!r}.", field="tally")


def _ballot_fields(ballot: StatedBallot, logged: LoggedBallot, changes: int) -> Iterable[tuple[str, Any, Any]]:
    """(field, stated, logged) of a ballot beyond its value and binding."""
    return (("voter_name", ballot.voter_name, logged.voter_name if logged.voter_name else UNLOGGED),
            ("comment", ballot.comment, logged.comment), ("cast_at", ballot.cast_at, logged.at),
            ("changes", ballot.changes, changes))


def _member_entry(entry: Sequence[Any]) -> tuple[str, str | None, str | None]:
    """(name, source, seen at) of a logged electorate entry: ``[id, name]`` (format 1) or
    ``[id, name, source, seen_at]`` (format 2)."""
    name = str(entry[1]) if len(entry) > 1 else ""
    source = entry[2] if len(entry) > 2 else None
    seen = entry[3] if len(entry) > 3 else None
    return name, source, seen


def stated_from_export(entry: Mapping[str, Any]) -> StatedVote:
    """A vote as a JSON export states it (``quorum export --format json``), ready for ``check_vote``.
    Every key the export has is stated; raises ``ValueError`` naming what is missing when the entry is not
    a vote export."""
    try:
        vote_id = int(entry["id"])
        events = tuple(
            Event(vote_id, int(e["seq"]), str(e["kind"]), str(e["at"]), dict(e["payload"]),
                  str(e["prev_hash"]), str(e["hash"]))
            for e in entry["events"]
        )
        # An export names each vote field by its own name (bot/services/vote_audit.py writes them).
        fields = {name: entry[name] for name in VOTE_FIELDS if name in entry}
        for key in ("head_digest", "title", "rule", "status", "tally", "outcome"):
            fields.setdefault(key, entry[key])  # what every export has: a missing one is a KeyError
        names = entry.get("electorate_names", {})
        sources = entry.get("electorate_sources", {})
        electorate = tuple(
            StatedMember(str(m), str(names.get(m, "")) if names else UNLOGGED,
                         (sources.get(m) or {}).get("source") if sources else UNLOGGED,
                         (sources.get(m) or {}).get("seen_at") if sources else UNLOGGED)
            for m in entry["electorate"]
        )
        ballots = tuple(
            StatedBallot(str(b["voter"]), b.get("voter_name", UNLOGGED), str(b["value"]), b.get("comment", UNLOGGED),
                         b["binding"], b.get("cast_at", UNLOGGED), b.get("changes", UNLOGGED))
            for b in entry["ballots"]
        )
        return StatedVote(id=vote_id, fields=fields, electorate=electorate, ballots=ballots, events=events)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"vote {entry.get('id', '?') if isinstance(entry, Mapping) else '?'} in the export "
                         f"lacks {exc}: export again with quorum export --format json.") from exc


# -- digests held elsewhere ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldDigest:
    """A digest someone kept from a vote message (the opened digest) or a result (the final digest):
    ``label`` is how they name the vote (its number, say), ``digest`` the 64 hex digits."""

    label: str
    digest: str


def parse_held_digest(text: str) -> HeldDigest:
    """``<vote>=<hex>``, as ``quorum verify --digest`` takes it. Raises ``ValueError`` saying how to write it."""
    label, sep, digest = text.strip().partition("=")
    digest = digest.strip().lower()
    if not sep or not label.strip():
        raise ValueError(f"'{text.strip()}' is not <vote>=<digest>: write it like 3=9f2c... with the 64 hex "
                         "digits the vote message or the result shows.")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"the digest for {label.strip()} is not 64 hex digits ({len(digest)} characters): copy "
                         "the whole digest the vote message or the result shows.")
    return HeldDigest(label.strip(), digest)


def parse_held_digests(lines: Iterable[str]) -> list[HeldDigest]:
    """A file of ``<vote>=<hex>`` lines; blank lines and lines starting with # are skipped."""
    return [parse_held_digest(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def check_held_digests(held: Iterable[HeldDigest], known: Mapping[str, int]) -> ChainProblem | None:
    """The first held digest that is not the opened or the final digest of a verified vote (``known``:
    digest -> vote id). A log rewritten and re-hashed from its first event verifies on its own, but no
    longer has the digests people kept; a vote left out of an export has none of its digests."""
    for item in held:
        if item.digest not in known:
            vote_id = int(item.label.lstrip("#")) if item.label.lstrip("#").isdigit() else 0
            return ChainProblem(vote_id, None, f"vote {item.label}: the digest held for it ({item.digest[:16]}…) "
                                "is not the opened or final digest of any vote here: the vote is missing or its "
                                "log was rewritten.", field="digest")
    return None
