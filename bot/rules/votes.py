"""Vote rules: ballot values, the six approval rules of SPEC §2 and their plain-words explanations.

Every rule looks only at the latest ballot of each member, and only at binding ballots (a ballot is
binding when its voter was in the electorate snapshot taken when the vote opened). ``+0`` and ``-0``
are the Apache way of saying "abstain, leaning yes/no" and count as ``0``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple, Protocol, TypeVar

from bot.errors import InvalidInput

VALUES = ("+1", "+0", "0", "-0", "-1")
# Typed forms people use for the same values: a bare 1, and the unicode minus some keyboards produce.
_ALIASES = {"1": "+1", "−1": "-1", "−0": "-0", "+0": "+0", "0": "0", "-0": "-0", "+1": "+1", "-1": "-1"}

# Literal types rather than an enum: the values are stored, written into the hash-chained vote log
# and shown as they are, so they stay plain strings; the types let mypy check every spelling.
Outcome = Literal["passed", "rejected", "no-quorum"]
PASSED: Final = "passed"
REJECTED: Final = "rejected"
NO_QUORUM: Final = "no-quorum"
OUTCOMES: tuple[Outcome, ...] = (PASSED, REJECTED, NO_QUORUM)

RuleId = Literal["lazy-consensus", "lazy-majority", "lazy-two-thirds", "consensus", "electorate-majority",
                 "electorate-two-thirds"]

MIN_PLUS_ONES = 3  # "at least 3 binding +1" under lazy-majority, lazy-two-thirds and consensus


@dataclass(frozen=True)
class RuleInfo:
    id: RuleId
    summary: str  # the rule in plain words, as shown in vote messages and results
    needs_quorum: bool  # fewer than 3 binding +1 is "no-quorum"
    vetoes: bool = False  # a binding -1 is a veto, which must give its reason


RULES: dict[str, RuleInfo] = {  # keyed by RuleId; looked up with the strings read from storage
    "lazy-consensus": RuleInfo("lazy-consensus", "passes unless there is a binding -1 by the deadline", False),
    "lazy-majority": RuleInfo("lazy-majority", "needs at least 3 binding +1 and more +1 than -1", True),
    "lazy-two-thirds": RuleInfo("lazy-two-thirds", "needs at least 3 binding +1 and twice as many +1 as -1",
                                True),
    "consensus": RuleInfo("consensus", "needs at least 3 binding +1 and no binding -1 (a -1 is a veto)", True,
                           vetoes=True),
    "electorate-majority": RuleInfo("electorate-majority",
                                    "needs binding +1 from more than half of the electorate", False),
    "electorate-two-thirds": RuleInfo("electorate-two-thirds",
                                      "needs binding +1 from at least two thirds of the electorate", False),
}
RULE_IDS: tuple[RuleId, ...] = tuple(info.id for info in RULES.values())
DEFAULT_RULE: RuleId = "lazy-two-thirds"


def parse_value(text: str) -> str:
    """The ballot value as cast (``+0`` stays ``+0``), or ``InvalidInput`` in one sentence."""
    cleaned = text.strip()
    value = _ALIASES.get(cleaned)
    if value is None:
        raise InvalidInput(
            f"'{cleaned[:20]}' is not a vote: vote +1 (yes), 0 (no opinion; +0 and -0 also count as 0) or -1 (no)."
        )
    return value


def parse_rule(text: str) -> RuleId:
    info = RULES.get(text.strip().lower())
    if info is None:
        raise InvalidInput(f"'{text[:40]}' is not a vote rule: use one of {', '.join(RULE_IDS)}.")
    return info.id


def weight(value: str) -> int:
    """+1, 0 or -1: how a ballot value counts."""
    return {"+1": 1, "-1": -1}.get(value, 0)


class Ballot(NamedTuple):
    """One ballot as the rules see it. ``binding`` was decided from the snapshot when it was cast.
    A tuple, not a dataclass: a large vote builds tens of thousands of them."""

    voter: str
    value: str
    binding: bool


@dataclass(frozen=True)
class Tally:
    plus: int = 0
    zero: int = 0
    minus: int = 0

    @property
    def total(self) -> int:
        return self.plus + self.zero + self.minus

    def as_dict(self) -> dict[str, int]:
        return {"+1": self.plus, "0": self.zero, "-1": self.minus}

    def words(self) -> str:
        return f"{self.plus} +1, {self.zero} 0, {self.minus} -1"

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.plus + other.plus, self.zero + other.zero, self.minus + other.minus)


def counted_as(value: str) -> str:
    """Which count of a ``Tally`` a ballot value adds to: "plus", "zero" or "minus"."""
    return {"+1": "plus", "-1": "minus"}.get(value, "zero")


@dataclass(frozen=True)
class Decision:
    rule: RuleId
    outcome: Outcome
    binding: Tally
    non_binding: Tally
    electorate_size: int
    explanation: str


class BallotLike(Protocol):
    """What the rules read of a ballot: ``Ballot`` here, or a service's richer row, used as it is so a
    vote with tens of thousands of ballots is not copied to be counted."""

    @property
    def voter(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def binding(self) -> bool: ...


B = TypeVar("B", bound=BallotLike)


def latest(ballots: Iterable[B]) -> list[B]:
    """The latest ballot of each voter, in the order voters first voted. ``ballots`` is in cast order."""
    current: dict[str, B] = {}
    for ballot in ballots:
        current[ballot.voter] = ballot
    return list(current.values())


def tally(ballots: Iterable[BallotLike]) -> tuple[Tally, Tally]:
    """(binding, non-binding) tallies over the latest ballot of each voter."""
    counts = {True: [0, 0, 0], False: [0, 0, 0]}
    slot = {"+1": 0, "-1": 2}
    for ballot in latest(ballots):
        counts[ballot.binding][slot.get(ballot.value, 1)] += 1
    return Tally(*counts[True]), Tally(*counts[False])


def electorate_majority_needed(size: int) -> int:
    """More than half: the smallest count c with 2c > size (at least one)."""
    return max(1, size // 2 + 1)


def electorate_two_thirds_needed(size: int) -> int:
    """At least two thirds: the smallest count c with 3c >= 2 size (at least one)."""
    return max(1, -(-2 * size // 3))


def decide(rule: str, ballots: Iterable[BallotLike], electorate_size: int) -> Decision:
    """The outcome of ``rule`` over ``ballots`` (in cast order; the latest per voter counts) if the vote
    closed now, with the reason in plain words."""
    binding, non_binding = tally(ballots)
    return decide_tally(rule, binding, non_binding, electorate_size)


def decide_tally(rule: str, binding: Tally, non_binding: Tally, electorate_size: int) -> Decision:
    """``decide`` from the tallies alone: a vote's running tally decides without reading its ballots."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    plus, minus = binding.plus, binding.minus
    counts = f"{plus} binding +1, {minus} binding -1"
    if binding.zero:
        counts += f", {binding.zero} binding 0"
    info = RULES[rule]
    outcome: Outcome
    quorum_missing = info.needs_quorum and plus < MIN_PLUS_ONES
    rule_id = info.id  # typed: mypy checks the spellings below
    if rule_id == "lazy-consensus":
        outcome = PASSED if minus == 0 else REJECTED
        reason = "needs no binding -1"
    elif rule_id == "lazy-majority":
        outcome = PASSED if plus > minus else REJECTED
        reason = "needs at least 3 +1 and more +1 than -1"
    elif rule_id == "lazy-two-thirds":
        outcome = PASSED if plus >= 2 * minus else REJECTED
        reason = "needs at least 3 +1 and twice as many +1 as -1"
    elif rule_id == "consensus":
        outcome = PASSED if minus == 0 else REJECTED
        reason = "needs at least 3 +1 and no -1 (a -1 is a veto)"
    elif rule_id == "electorate-majority":
        needed = electorate_majority_needed(electorate_size)
        outcome = PASSED if plus >= needed else REJECTED
        counts = f"{plus} binding +1 of an electorate of {electorate_size}"
        reason = f"needs +1 from more than half of the electorate, so at least {needed}"
    else:  # electorate-two-thirds
        needed = electorate_two_thirds_needed(electorate_size)
        outcome = PASSED if plus >= needed else REJECTED
        counts = f"{plus} binding +1 of an electorate of {electorate_size}"
        reason = f"needs +1 from at least two thirds of the electorate, so at least {needed}"
    if quorum_missing:
        outcome = NO_QUORUM
        reason += f" (fewer than {MIN_PLUS_ONES} binding +1 is no quorum)"
    explanation = f"{counts}: {reason}: {outcome}"
    return Decision(rule_id, outcome, binding, non_binding, electorate_size, explanation)
