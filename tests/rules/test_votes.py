"""The six vote rules, table-driven, plus properties that must hold for any ballots."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.rules.votes import (
    NO_QUORUM,
    PASSED,
    REJECTED,
    RULE_IDS,
    VALUES,
    Ballot,
    decide,
    electorate_majority_needed,
    electorate_two_thirds_needed,
    parse_rule,
    parse_value,
)


def ballots(spec: str) -> list[Ballot]:
    """``"a+1 b-1 x+1*"``: voter letter, value, ``*`` for non-binding; later entries of a voter are changes."""
    found = []
    for word in spec.split():
        binding = not word.endswith("*")
        word = word.rstrip("*")
        found.append(Ballot(f"console:{word[0]}", word[1:], binding))
    return found


CASES = [
    # rule, ballots, electorate size, outcome, why
    ("lazy-consensus", "", 5, PASSED, "silence is consent"),
    ("lazy-consensus", "a+1 b-1", 5, REJECTED, "one binding -1"),
    ("lazy-consensus", "a+1 x-1*", 5, PASSED, "a non-binding -1 is not an objection"),
    ("lazy-consensus", "a-1 a+1", 5, PASSED, "a -1 changed to +1"),
    ("lazy-consensus", "a-0 b+0", 5, PASSED, "-0 counts as 0"),
    ("lazy-majority", "a+1 b+1 c+1", 5, PASSED, "3 +1"),
    ("lazy-majority", "a+1 b+1", 5, NO_QUORUM, "too few votes"),
    ("lazy-majority", "a+1 b+1 c+1 d-1 e-1 f-1", 9, REJECTED, "a tie is not a majority"),
    ("lazy-majority", "a+1 b+1 c+1 d+1 e-1 f-1 g-1", 9, PASSED, "one more +1 than -1"),
    ("lazy-majority", "x+1* y+1* z+1* w+1*", 5, NO_QUORUM, "only non-binding votes"),
    ("lazy-majority", "a0 b0 c+0 d-0 e0", 5, NO_QUORUM, "all abstain"),
    ("lazy-majority", "a+1 b+1 c+0", 5, NO_QUORUM, "+0 is not a +1"),
    ("lazy-majority", "a+1 b+1 c+1 c-1", 5, NO_QUORUM, "changed votes: the latest counts"),
    ("lazy-two-thirds", "a+1 b+1 c+1 d+1 e-1 f-1", 9, PASSED, "exactly 2:1"),
    ("lazy-two-thirds", "a+1 b+1 c+1 e-1 f-1", 9, REJECTED, "less than 2:1"),
    ("lazy-two-thirds", "a+1 b+1 c+1 d+1 e+1 f+1 g-1 h-1 i-1", 9, PASSED, "6:3 is exactly 2:1"),
    ("lazy-two-thirds", "a+1 b+1 c+1 d+1 e+1 g-1 h-1 i-1", 9, REJECTED, "5:3 is short of 2:1"),
    ("lazy-two-thirds", "a+1 b+1 c+1", 3, PASSED, "no -1 at all"),
    ("lazy-two-thirds", "a+1 b+1", 3, NO_QUORUM, "two +1"),
    ("lazy-two-thirds", "a+1 b+1 x+1*", 3, NO_QUORUM, "a non-binding +1 does not make quorum"),
    ("lazy-two-thirds", "a-1 b+1 c+1 d+1 e+1 a+1 f-1", 9, PASSED, "a changed -1 no longer counts against"),
    ("consensus", "a+1 b+1 c+1", 5, PASSED, "3 +1 and no veto"),
    ("consensus", "a+1 b+1 c+1 d-1", 5, REJECTED, "a veto"),
    ("consensus", "a+1 b+1 c+1 d+1 e+1 x-1*", 5, PASSED, "a non-binding -1 is no veto"),
    ("consensus", "a+1 b+1 c+1 d-1 d0", 5, PASSED, "a veto withdrawn"),
    ("consensus", "a+1 b+1 d-0", 5, NO_QUORUM, "too few +1"),
    ("electorate-majority", "a+1 b+1 c+1 d+1", 7, PASSED, "4 of 7 is more than half"),
    ("electorate-majority", "a+1 b+1 c+1", 7, REJECTED, "3 of 7 is not"),
    ("electorate-majority", "a+1 b+1 c+1", 6, REJECTED, "exactly half is not a majority"),
    ("electorate-majority", "a+1 b+1 c+1 d+1 e-1", 6, PASSED, "4 of 6"),
    ("electorate-majority", "x+1* y+1* z+1*", 3, REJECTED, "only non-binding votes"),
    ("electorate-majority", "a0 b0 c0", 3, REJECTED, "all abstain"),
    ("electorate-majority", "", 0, REJECTED, "an empty electorate never passes"),
    ("electorate-two-thirds", "a+1 b+1 c+1 d+1", 6, PASSED, "exactly two thirds"),
    ("electorate-two-thirds", "a+1 b+1 c+1", 6, REJECTED, "half is not two thirds"),
    ("electorate-two-thirds", "a+1 b+1 c+1 d+1 e+1", 7, PASSED, "5 of 7 >= 4.67"),
    ("electorate-two-thirds", "a+1 b+1 c+1 d+1", 7, REJECTED, "4 of 7 < 4.67"),
    ("electorate-two-thirds", "a+1 b+1", 3, PASSED, "2 of 3"),
    ("electorate-two-thirds", "", 0, REJECTED, "an empty electorate never passes"),
]


@pytest.mark.parametrize(("rule", "spec", "size", "outcome", "why"), CASES, ids=[f"{c[0]}: {c[4]}" for c in CASES])
def test_rule_table(rule: str, spec: str, size: int, outcome: str, why: str) -> None:
    decision = decide(rule, ballots(spec), size)
    assert decision.outcome == outcome, f"{why}: {decision.explanation}"
    assert decision.explanation.endswith(f": {outcome}")


def test_every_rule_is_in_the_table() -> None:
    assert {c[0] for c in CASES} == set(RULE_IDS)


def test_explanation_in_plain_words() -> None:
    decision = decide("lazy-two-thirds", ballots("a+1 b+1 c+1 d-1"), 5)
    assert decision.explanation == (
        "3 binding +1, 1 binding -1: needs at least 3 +1 and twice as many +1 as -1: passed"
    )
    assert "no quorum" in decide("consensus", ballots("a+1"), 5).explanation
    assert "at least 4" in decide("electorate-majority", ballots("a+1"), 7).explanation


def test_tallies_split_binding_and_non_binding_and_fold_zeros() -> None:
    decision = decide("lazy-majority", ballots("a+1 b+0 c-0 d-1 x+1* y0* a-1"), 5)
    assert decision.binding.as_dict() == {"+1": 0, "0": 2, "-1": 2}
    assert decision.non_binding.as_dict() == {"+1": 1, "0": 1, "-1": 0}


def test_thresholds() -> None:
    assert [electorate_majority_needed(n) for n in range(7)] == [1, 1, 2, 2, 3, 3, 4]
    assert [electorate_two_thirds_needed(n) for n in range(7)] == [1, 1, 2, 2, 3, 4, 4]


@pytest.mark.parametrize("text", ["+1", "+0", "0", "-0", "-1"])
def test_values_parse_as_cast(text: str) -> None:
    assert parse_value(text) == text


@pytest.mark.parametrize("text", ["+7", "2", "yes", "", "+", "--1", "+1 (binding)"])
def test_bad_values_are_refused_in_one_sentence(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_value(text)
    assert "is not a vote: vote +1 (yes), 0" in caught.value.message


def test_unknown_rule() -> None:
    with pytest.raises(InvalidInput, match="is not a vote rule"):
        parse_rule("simple-majority")
    assert parse_rule("Lazy-Majority") == "lazy-majority"


# -- properties ---------------------------------------------------------------------------
voters = st.sampled_from([f"console:m{i}" for i in range(12)])
ballot_st = st.builds(Ballot, voters, st.sampled_from(VALUES), st.booleans())
histories = st.lists(ballot_st, max_size=40)
MAJORITY_RULES = ("lazy-majority", "lazy-two-thirds", "electorate-majority", "electorate-two-thirds")


def consistent(history: list[Ballot]) -> list[Ballot]:
    """A voter is binding or not for the whole vote (the snapshot decides), as in real votes."""
    first: dict[str, bool] = {}
    for ballot in history:
        first.setdefault(ballot.voter, ballot.binding)
    return [Ballot(b.voter, b.value, first[b.voter]) for b in history]


@given(histories, st.sampled_from(MAJORITY_RULES), st.integers(min_value=0, max_value=15))
def test_a_new_binding_plus_one_never_turns_a_pass_into_a_fail(history: list[Ballot], rule: str, size: int) -> None:
    history = consistent(history)
    before = decide(rule, history, size)
    after = decide(rule, [*history, Ballot("console:newcomer", "+1", True)], size)
    if before.outcome == PASSED:
        assert after.outcome == PASSED


@given(histories, st.sampled_from(MAJORITY_RULES), st.integers(min_value=0, max_value=15), voters)
def test_changing_a_vote_to_plus_one_never_turns_a_pass_into_a_fail(
    history: list[Ballot], rule: str, size: int, voter: str
) -> None:
    history = consistent(history)
    binding = next((b.binding for b in history if b.voter == voter), True)
    before = decide(rule, history, size)
    after = decide(rule, [*history, Ballot(voter, "+1", binding)], size)
    if before.outcome == PASSED:
        assert after.outcome == PASSED


@given(histories, st.lists(ballot_st, max_size=20), st.sampled_from(RULE_IDS), st.integers(min_value=0, max_value=15))
def test_non_binding_ballots_never_change_an_outcome(
    history: list[Ballot], extra: list[Ballot], rule: str, size: int
) -> None:
    binding_only = [b for b in consistent(history) if b.binding]
    outsiders = [Ballot(b.voter.replace("console:", "console:guest-"), b.value, False) for b in extra]
    mixed = [*binding_only, *outsiders]
    assert decide(rule, mixed, size).outcome == decide(rule, binding_only, size).outcome


@given(histories, st.sampled_from(RULE_IDS), st.integers(min_value=0, max_value=15))
def test_only_the_latest_ballot_of_each_voter_counts(history: list[Ballot], rule: str, size: int) -> None:
    history = consistent(history)
    latest: dict[str, Ballot] = {}
    for ballot in history:
        latest[ballot.voter] = ballot
    assert decide(rule, history, size).outcome == decide(rule, list(latest.values()), size).outcome


@given(histories, st.sampled_from(("lazy-majority", "lazy-two-thirds", "consensus")))
def test_no_quorum_exactly_when_fewer_than_three_binding_plus_ones(history: list[Ballot], rule: str) -> None:
    decision = decide(rule, consistent(history), 10)
    assert (decision.outcome == NO_QUORUM) == (decision.binding.plus < 3)
