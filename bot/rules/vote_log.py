"""Reading a vote back from its log: replaying the events into the electorate, current ballots and
result, and comparing that with what a database or an export states. A ballot row edited in place does
not break the hash chain, but it no longer agrees with the replayed log, which is how it is caught."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.rules.audit import ChainCheck, ChainProblem, Event, Steps, electorate_digest, run_steps
from bot.rules.votes import Tally, decide_tally


@dataclass(frozen=True)
class LoggedBallot:
    voter: str
    voter_name: str
    value: str
    comment: str | None
    binding: bool
    at: str


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
        payload = event.payload
        if event.kind == "open":
            opened = payload
        elif event.kind in ("ballot", "change"):
            ballot = _logged(event)
            current[ballot.voter] = ballot
            history.append(ballot)
        elif event.kind == "close":
            closed = payload
    return Replayed(opened, current, closed, tuple(history))


def _logged(event: Event) -> LoggedBallot:
    payload = event.payload
    return LoggedBallot(str(payload["voter"]), str(payload.get("voter_name", "")), str(payload["value"]),
                        payload.get("comment"), bool(payload["binding"]), event.at)


@dataclass(frozen=True)
class StatedVote:
    """What a database or an export says about a vote, to be checked against its log."""

    id: int
    title: str
    rule: str
    status: str
    outcome: str | None
    electorate: tuple[str, ...]
    ballots: tuple[tuple[str, str, bool], ...]  # (voter, value, binding) of the current ballots
    head_digest: str | None
    events: tuple[Event, ...] = field(default=())


def check_vote(stated: StatedVote) -> ChainProblem | None:
    """The first thing about the vote that its log does not back, or None."""
    check = LogCheck(stated.id)
    for event in stated.events:
        check.add(event)
    return run_steps(check.end_steps(stated))


class LogCheck:
    """``check_vote`` for a log read a page at a time: ``add`` each event in stored order, then step
    through ``end_steps`` with what the tables state (its ``events`` are not read). It keeps what the
    checks need, not the events: per voter, the latest value and whether it is binding."""

    def __init__(self, vote_id: int) -> None:
        self.vote_id = vote_id
        self.chain = ChainCheck(vote_id)
        self.first_kind: str | None = None
        self.opened: Mapping[str, Any] = {}
        self.opens = 0
        self.closes: list[int] = []  # sequence numbers of close events
        self.closed: Mapping[str, Any] | None = None
        self.last_seq = 0
        self.logged_electorate: list[str] = []
        self.electorate: set[str] = set()
        self.misbound: LoggedBallot | None = None  # the first ballot whose binding the electorate contradicts
        self.current: dict[str, tuple[str, bool]] = {}  # voter -> (value, binding), in first-vote order

    def add(self, event: Event) -> None:
        if self.chain.add(event) is not None:
            return  # the chain's problem is the one reported: what an altered event says is not read
        self.last_seq = event.seq
        if self.first_kind is None:
            self.first_kind = event.kind
        if event.kind == "open":
            self.opens += 1
            self.opened = event.payload
            if self.opens == 1:
                self.logged_electorate = sorted(str(m[0]) for m in event.payload.get("electorate", []))
                self.electorate = set(self.logged_electorate)
        elif event.kind in ("ballot", "change"):
            ballot = _logged(event)
            if self.misbound is None and ballot.binding != (ballot.voter in self.electorate):
                self.misbound = ballot
            self.current[ballot.voter] = (ballot.value, ballot.binding)
        elif event.kind == "close":
            self.closes.append(event.seq)
            self.closed = event.payload

    def end_steps(self, stated: StatedVote, every: int = 1000) -> Steps[ChainProblem | None]:
        """The first problem, in ``check_vote``'s order; pauses (yields) after every ``every`` ballots."""
        problem = self.chain.end(stated.head_digest)
        if problem is not None:
            return problem
        vid = self.vote_id
        if self.first_kind != "open":
            return ChainProblem(vid, 1, f"vote #{vid}'s log does not start with its opening.")
        if self.opens > 1:
            return ChainProblem(vid, None, f"vote #{vid}'s log opens the vote twice.")
        if len(self.closes) > 1 or (self.closes and self.closes[0] != self.last_seq):
            return ChainProblem(vid, self.closes[-1], f"vote #{vid}'s log has events after its close.")
        opened = self.opened

        def differs(what: str, logged: Any, found: Any) -> ChainProblem:
            return ChainProblem(vid, None, f"vote #{vid}: its {what} is {found!r} but the log says {logged!r}.")

        if opened.get("title") != stated.title:
            return differs("title", opened.get("title"), stated.title)
        if opened.get("rule") != stated.rule:
            return differs("rule", opened.get("rule"), stated.rule)
        logged_electorate = self.logged_electorate
        if opened.get("electorate_digest") != electorate_digest(logged_electorate):
            return ChainProblem(vid, 1, f"vote #{vid}'s opening event has an electorate that does not match "
                                "its electorate digest.")
        if sorted(stated.electorate) != logged_electorate:
            return differs("electorate", logged_electorate, sorted(stated.electorate))
        if self.misbound is not None:
            ballot = self.misbound
            return ChainProblem(vid, None, f"vote #{vid}: the log marks {ballot.voter}'s ballot "
                                f"{'binding' if ballot.binding else 'non-binding'}, which the electorate does not.")
        stated_ballots: dict[str, tuple[str, bool]] = {}
        for index, (voter, value, binding) in enumerate(stated.ballots, start=1):
            if index % every == 0:
                yield
            stated_ballots[voter] = (value, binding)
        counts = {True: [0, 0, 0], False: [0, 0, 0]}
        slot = {"+1": 0, "-1": 2}
        for index, (voter, logged) in enumerate(self.current.items(), start=1):
            if index % every == 0:
                yield
            found = stated_ballots.pop(voter, None)
            if found is None:
                return ChainProblem(vid, None, f"vote #{vid}: the ballot of {voter} is in the log but missing.")
            if found != logged:
                return ChainProblem(vid, None, f"vote #{vid}: the ballot of {voter} says {found[0]}"
                                    f"{' (binding)' if found[1] else ''} but the log says {logged[0]}"
                                    f"{' (binding)' if logged[1] else ''}.")
            counts[logged[1]][slot.get(logged[0], 1)] += 1
        if stated_ballots:
            voter = sorted(stated_ballots)[0]
            return ChainProblem(vid, None, f"vote #{vid}: there is a ballot of {voter} that the log does not have.")
        expected_status = "closed" if self.closed is not None else "open"
        if stated.status != expected_status:
            return differs("status", expected_status, stated.status)
        if self.closed is not None:
            decision = decide_tally(opened["rule"], Tally(*counts[True]), Tally(*counts[False]),
                                    len(self.electorate))
            if self.closed.get("outcome") != decision.outcome:
                return ChainProblem(vid, self.closes[0], f"vote #{vid}'s close event records "
                                    f"{self.closed.get('outcome')!r} but its ballots give {decision.outcome!r}.")
            if stated.outcome != decision.outcome:
                return differs("outcome", decision.outcome, stated.outcome)
        elif stated.outcome is not None:
            return differs("outcome", None, stated.outcome)
        return None


def stated_from_export(entry: Mapping[str, Any]) -> StatedVote:
    """A vote as a JSON export states it (``quorum export --format json``), ready for ``check_vote``.
    Raises ``ValueError`` naming what is missing when the entry is not a vote export."""
    try:
        events = tuple(
            Event(int(entry["id"]), int(e["seq"]), str(e["kind"]), str(e["at"]), dict(e["payload"]),
                  str(e["prev_hash"]), str(e["hash"]))
            for e in entry["events"]
        )
        return StatedVote(
            id=int(entry["id"]), title=str(entry["title"]), rule=str(entry["rule"]), status=str(entry["status"]),
            outcome=entry.get("outcome"), electorate=tuple(str(m) for m in entry["electorate"]),
            ballots=tuple((str(b["voter"]), str(b["value"]), bool(b["binding"])) for b in entry["ballots"]),
            head_digest=str(entry["head_digest"]), events=events,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"vote {entry.get('id', '?') if isinstance(entry, Mapping) else '?'} in the export "
                         f"lacks {exc}: export again with quorum export --format json.") from exc
