"""Reading a vote back from its log: replaying the events into the electorate, current ballots and
result, and comparing that with what a database or an export states. A ballot row edited in place does
not break the hash chain, but it no longer agrees with the replayed log, which is how it is caught."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.rules.audit import ChainProblem, Event, Steps, electorate_digest, run_steps, verify_chain_steps
from bot.rules.votes import Tally, decide_tally, tally


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
    return run_steps(replay_steps(events))


def replay_steps(events: Sequence[Event], every: int = 1000) -> Steps[Replayed]:
    """``replay`` as a generator that pauses after every ``every`` events."""
    opened: Mapping[str, Any] = {}
    closed: Mapping[str, Any] | None = None
    current: dict[str, LoggedBallot] = {}
    history: list[LoggedBallot] = []
    for index, event in enumerate(events, start=1):
        if index % every == 0:
            yield
        payload = event.payload
        if event.kind == "open":
            opened = payload
        elif event.kind in ("ballot", "change"):
            ballot = LoggedBallot(str(payload["voter"]), str(payload.get("voter_name", "")), str(payload["value"]),
                                  payload.get("comment"), bool(payload["binding"]), event.at)
            current[ballot.voter] = ballot
            history.append(ballot)
        elif event.kind == "close":
            closed = payload
    return Replayed(opened, current, closed, tuple(history))


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
    return run_steps(check_vote_steps(stated))


def check_vote_steps(stated: StatedVote, every: int = 1000) -> Steps[ChainProblem | None]:
    """``check_vote`` as a generator that pauses after about every ``every`` events or ballots, so a
    service can check a vote of 100,000 ballots without holding the event loop for the whole of it."""
    problem = yield from verify_chain_steps(stated.id, stated.events, stated.head_digest, every)
    if problem is not None:
        return problem
    vid = stated.id
    events = stated.events
    if events[0].kind != "open":
        return ChainProblem(vid, 1, f"vote #{vid}'s log does not start with its opening.")
    if any(e.kind == "open" for e in events[1:]):
        return ChainProblem(vid, None, f"vote #{vid}'s log opens the vote twice.")
    closes = [e for e in events if e.kind == "close"]
    if len(closes) > 1 or (closes and closes[0] is not events[-1]):
        return ChainProblem(vid, closes[-1].seq, f"vote #{vid}'s log has events after its close.")
    state = yield from replay_steps(events, every)
    opened = state.opened

    def differs(what: str, logged: Any, found: Any) -> ChainProblem:
        return ChainProblem(vid, None, f"vote #{vid}: its {what} is {found!r} but the log says {logged!r}.")

    if opened.get("title") != stated.title:
        return differs("title", opened.get("title"), stated.title)
    if opened.get("rule") != stated.rule:
        return differs("rule", opened.get("rule"), stated.rule)
    logged_electorate = sorted(str(m[0]) for m in opened.get("electorate", []))
    if opened.get("electorate_digest") != electorate_digest(logged_electorate):
        return ChainProblem(vid, 1, f"vote #{vid}'s opening event has an electorate that does not match "
                            "its electorate digest.")
    if sorted(stated.electorate) != logged_electorate:
        return differs("electorate", logged_electorate, sorted(stated.electorate))
    electorate = set(logged_electorate)
    for index, ballot in enumerate(state.history, start=1):
        if index % every == 0:
            yield
        if ballot.binding != (ballot.voter in electorate):
            return ChainProblem(vid, None, f"vote #{vid}: the log marks {ballot.voter}'s ballot "
                                f"{'binding' if ballot.binding else 'non-binding'}, which the electorate does not.")
    stated_ballots: dict[str, tuple[str, bool]] = {}
    for index, (voter, value, binding) in enumerate(stated.ballots, start=1):
        if index % every == 0:
            yield
        stated_ballots[voter] = (value, binding)
    for index, (voter, ballot) in enumerate(state.ballots.items(), start=1):
        if index % every == 0:
            yield
        found = stated_ballots.pop(voter, None)
        if found is None:
            return ChainProblem(vid, None, f"vote #{vid}: the ballot of {voter} is in the log but missing.")
        if found != (ballot.value, ballot.binding):
            return ChainProblem(vid, None, f"vote #{vid}: the ballot of {voter} says {found[0]}"
                                f"{' (binding)' if found[1] else ''} but the log says {ballot.value}"
                                f"{' (binding)' if ballot.binding else ''}.")
    if stated_ballots:
        voter = sorted(stated_ballots)[0]
        return ChainProblem(vid, None, f"vote #{vid}: there is a ballot of {voter} that the log does not have.")
    expected_status = "closed" if state.closed is not None else "open"
    if stated.status != expected_status:
        return differs("status", expected_status, stated.status)
    if state.closed is not None:
        current = list(state.ballots.values())
        binding_tally, other_tally = Tally(), Tally()
        for start in range(0, len(current), every):
            yield
            counted = tally(current[start:start + every])  # one ballot per voter: slices add up
            binding_tally, other_tally = binding_tally + counted[0], other_tally + counted[1]
        decision = decide_tally(opened["rule"], binding_tally, other_tally, len(electorate))
        if state.closed.get("outcome") != decision.outcome:
            return ChainProblem(vid, closes[0].seq, f"vote #{vid}'s close event records "
                                f"{state.closed.get('outcome')!r} but its ballots give {decision.outcome!r}.")
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
