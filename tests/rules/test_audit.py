"""The hash chain of a vote's log, and checking a stated vote against its log."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.audit import GENESIS, Event, chain_hash, electorate_digest, next_event, verify_chain
from bot.rules.vote_log import UNLOGGED, StatedBallot, StatedMember, StatedVote, check_vote, replay
from bot.rules.votes import Tally, decide_tally


def build(vote_id: int = 7) -> list[Event]:
    electorate = [["console:alice", "alice"], ["console:bob", "bob"]]
    opened = next_event(None, vote_id, "open", "2022-03-01T12:00:00.000000Z", {
        "title": "Adopt", "rule": "lazy-consensus", "electorate": electorate,
        "electorate_digest": electorate_digest(["console:alice", "console:bob"]), "opened_by": "console:alice"})
    first = next_event(opened, vote_id, "ballot", "2022-03-01T12:01:00.000000Z",
                       {"voter": "console:bob", "value": "-1", "binding": True, "comment": None})
    second = next_event(first, vote_id, "change", "2022-03-01T12:02:00.000000Z",
                        {"voter": "console:bob", "value": "+1", "binding": True, "comment": "convinced"})
    guest = next_event(second, vote_id, "ballot", "2022-03-01T12:03:00.000000Z",
                       {"voter": "console:zed", "value": "-1", "binding": False, "comment": "(binding)"})
    close = next_event(guest, vote_id, "close", "2022-03-04T12:00:00.000000Z",
                       {"closed_at": "2022-03-04T12:00:00Z", "closed_by": None, "outcome": "passed"})
    return [opened, first, second, guest, close]


def stated(events: list[Event], *, electorate: tuple[str, ...] = ("console:alice", "console:bob"),
           ballots: tuple[tuple[str, str, bool], ...] = (("console:bob", "+1", True), ("console:zed", "-1", False)),
           **fields: object) -> StatedVote:
    """A format-1 vote as a database states it: what the old log has is checked, the rest is not."""
    return StatedVote(
        id=7, fields={"title": "Adopt", "rule": "lazy-consensus", "status": "closed", "outcome": "passed",
                      "head_digest": events[-1].hash, **fields},
        electorate=tuple(StatedMember(m, m.split(":")[1], None, None) for m in electorate),
        ballots=tuple(StatedBallot(v, UNLOGGED, value, UNLOGGED, binding, UNLOGGED, UNLOGGED)
                      for v, value, binding in ballots),
        events=tuple(events))


def test_a_sound_chain_verifies() -> None:
    events = build()
    assert events[0].prev_hash == GENESIS
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in pairwise(events))
    assert verify_chain(7, events, events[-1].hash) is None
    assert check_vote(stated(events)) is None


def test_hash_is_independent_of_key_order() -> None:
    a = chain_hash(GENESIS, 1, 1, "open", "t", {"a": 1, "b": [1, 2]})
    b = chain_hash(GENESIS, 1, 1, "open", "t", {"b": [1, 2], "a": 1})
    assert a == b


def test_an_altered_payload_names_its_event() -> None:
    events = build()
    events[2] = replace(events[2], payload={**events[2].payload, "value": "-1"})
    problem = verify_chain(7, events, events[-1].hash)
    assert problem is not None and problem.seq == 3
    assert "event 3 (change by console:bob) does not match its hash" in problem.message


def test_a_removed_event_is_caught() -> None:
    events = build()
    del events[1]
    problem = verify_chain(7, events, events[-1].hash)
    assert problem is not None and "out of sequence" in problem.message


def test_a_rehashed_chain_is_caught_by_the_published_head_digest() -> None:
    events = build()
    head = events[-1].hash
    # Someone rewrites bob's ballot and recomputes every later hash: the chain is consistent again...
    forged = events[:1]
    for event in events[1:]:
        payload = dict(event.payload)
        if event.seq == 2:
            payload["value"] = "+1"
        forged.append(next_event(forged[-1], 7, event.kind, event.at, payload))
    assert verify_chain(7, forged, None) is None
    # ...but it no longer ends at the digest the result announced.
    problem = verify_chain(7, forged, head)
    assert problem is not None and "head digest" in problem.message


def test_an_edited_ballot_row_disagrees_with_the_log() -> None:
    events = build()
    problem = check_vote(stated(events, ballots=(("console:bob", "-1", True), ("console:zed", "-1", False))))
    assert problem is not None and "ballot of console:bob says -1" in problem.message


def test_a_ballot_made_binding_disagrees_with_the_log() -> None:
    events = build()
    problem = check_vote(stated(events, ballots=(("console:bob", "+1", True), ("console:zed", "-1", True))))
    assert problem is not None and "console:zed" in problem.message


def test_an_edited_electorate_or_outcome_disagrees_with_the_log() -> None:
    events = build()
    problem = check_vote(stated(events, electorate=("console:alice", "console:bob", "console:zed")))
    assert problem is not None and "electorate" in problem.message
    problem = check_vote(stated(events, outcome="rejected"))
    assert problem is not None and "outcome" in problem.message


def test_replay_keeps_the_latest_ballot_and_every_change() -> None:
    state = replay(build())
    assert state.ballots["console:bob"].value == "+1"
    assert [b.value for b in state.history] == ["-1", "+1", "-1"]
    assert state.closed is not None


@given(st.lists(st.sampled_from(["+1", "0", "-1"]), min_size=1, max_size=20), st.data())
def test_changing_any_single_event_is_detected(values: list[str], data: st.DataObject) -> None:
    events = [next_event(None, 1, "open", "t0", {"title": "x"})]
    for i, value in enumerate(values):
        events.append(next_event(events[-1], 1, "ballot", f"t{i + 1}", {"voter": f"m{i}", "value": value}))
    head = events[-1].hash
    index = data.draw(st.integers(min_value=0, max_value=len(events) - 1))
    events[index] = replace(events[index], at=events[index].at + "x")
    problem = verify_chain(1, events, head)
    assert problem is not None and problem.seq == index + 1


def build_format_2(reason: str, closed_by: str | None, forced: bool) -> list[Event]:
    electorate = [["console:alice", "alice", "config", None], ["console:bob", "bob", "seen",
                                                              "2022-02-20T10:00:00.000000Z"]]
    opened = next_event(None, 7, "open", "2022-03-01T12:00:00.000000Z", {
        "format": 2, "workspace": "tvm", "title": "Adopt", "link": None, "rule": "lazy-consensus",
        "binding_role": "PMC", "opened_by": "console:alice", "opened_by_name": "alice",
        "opened_at": "2022-03-01T12:00:00.000000Z", "closes_at": "2022-03-04T12:00:00.000000Z",
        "short_forced": False, "channel_id": None, "electorate": electorate,
        "electorate_digest": electorate_digest(["console:alice", "console:bob"])})
    ballot = next_event(opened, 7, "ballot", "2022-03-01T12:01:00.000000Z", {
        "voter": "console:bob", "voter_name": "bob", "value": "+1", "binding": True, "comment": None,
        "previous": None})
    close = next_event(ballot, 7, "close", "2022-03-02T12:00:00.000000Z", {
        "closed_at": "2022-03-02T12:00:00.000000Z", "closed_by": closed_by, "closed_by_name": "alice",
        "forced": forced, "early": True, "reason": reason, "outcome": "passed",
        "explanation": decide_tally("lazy-consensus", Tally(1, 0, 0), Tally(), 2).explanation,
        "tally": {"binding": {"+1": 1, "0": 0, "-1": 0}, "non_binding": {"+1": 0, "0": 0, "-1": 0}}})
    return [opened, ballot, close]


def format_2_stated(events: list[Event]) -> StatedVote:
    return StatedVote(id=7, fields={"status": "closed", "head_digest": events[-1].hash,
                                    "closed_by": events[-1].payload["closed_by"]},
                      electorate=(StatedMember("console:alice", "alice", "config", None),
                                  StatedMember("console:bob", "bob", "seen", "2022-02-20T10:00:00.000000Z")),
                      ballots=(StatedBallot("console:bob", "bob", "+1", None, True,
                                            "2022-03-01T12:01:00.000000Z", 0),),
                      events=tuple(events))


def test_a_format_2_close_must_give_a_reason_that_fits_who_closed_it_and_who_voted() -> None:
    # alice had not voted: a forced early close is right, "everyone voted" or "the deadline" are not.
    assert check_vote(format_2_stated(build_format_2("forced", "console:alice", True))) is None
    for reason, by, forced in (("all-voted", "console:alice", False), ("deadline", None, False),
                               ("forced", None, True)):
        problem = check_vote(format_2_stated(build_format_2(reason, by, forced)))
        assert problem is not None and problem.field == "close", (reason, problem)
    problem = check_vote(replace(format_2_stated(build_format_2("forced", "console:alice", True)),
                                 electorate=(StatedMember("console:alice", "alice", "listing", None),
                                             StatedMember("console:bob", "bob", "seen",
                                                          "2022-02-20T10:00:00.000000Z"))))
    assert problem is not None and "electorate member console:alice's source is 'listing'" in problem.message
