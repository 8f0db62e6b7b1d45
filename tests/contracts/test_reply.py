"""A reply survives the outbox: ``reply_from_json(reply_to_json(r)) == r``, and stored payloads read
back as they did before the typed fields existed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.contracts.reply import (
    BUTTON_STYLES,
    REPLY_KINDS,
    Button,
    Field,
    MeetingDuties,
    Reply,
    VoteChoice,
    reply_from_json,
    reply_to_json,
)

words = st.text(max_size=12)
members = st.none() | st.sampled_from(["console:alice", "slack:T1:U2"])
plain = st.builds(
    Reply, words, ok=st.booleans(), ephemeral=st.booleans(), title=st.none() | words,
    fields=st.lists(st.builds(Field, words, words), max_size=2).map(tuple),
    buttons=st.lists(st.builds(Button, words, words, words, st.sampled_from(BUTTON_STYLES), st.none() | words),
                     max_size=2).map(tuple),
    moments=st.lists(st.datetimes(timezones=st.just(UTC)), max_size=2).map(tuple),
    # "mention" in data is how posts named their member before the typed field (read back below).
    data=st.dictionaries(words.filter(lambda w: w != "mention"), st.integers() | words, max_size=2),
    kind=st.sampled_from(REPLY_KINDS),
    live_vote=st.none() | st.integers(1, 99),
    votes=st.lists(st.builds(VoteChoice, st.integers(1, 99), words, st.booleans()), max_size=2).map(tuple),
    duties=st.none() | st.builds(MeetingDuties, members, members),
)
replies = st.builds(lambda reply, refresh: replace(reply, refresh=refresh), plain, st.none() | plain)


@given(replies)
def test_a_reply_reads_back_as_it_was_written(reply: Reply) -> None:
    assert reply_from_json(json.loads(json.dumps(reply_to_json(reply)))) == reply


def test_a_stored_payload_without_the_typed_fields_reads_back_and_writes_the_same() -> None:
    stored = {"text": "Reminder", "ok": True, "ephemeral": False, "title": None, "fields": [["Host", "bob"]],
              "buttons": [["+1", "vote cast #1 +1", "quorum:vote:1:+1", "primary", None]],
              "moments": ["2022-03-02T16:00:00+00:00"], "data": {"vote_id": 1}, "kind": "reminder"}
    reply = reply_from_json(stored)
    assert reply.moments == (datetime(2022, 3, 2, 16, tzinfo=UTC),) and reply.refresh is None
    assert reply_to_json(reply) == stored


def test_missing_keys_take_the_defaults_of_reply() -> None:
    assert reply_from_json({"text": "hi"}) == Reply("hi")


def test_a_channel_post_stored_before_the_typed_mention_still_names_its_member() -> None:
    stored = {"text": "console:bob: (your direct messages are closed, so here instead) Reminder", "ok": True,
              "ephemeral": False, "title": None, "fields": [], "buttons": [], "moments": [],
              "data": {"mention": "console:bob"}, "kind": "reminder"}
    assert reply_from_json(stored).mention == "console:bob"


def test_a_button_stored_before_buttons_could_prompt_reads_back() -> None:
    stored = {"text": "Vote", "buttons": [["+1", "vote cast #1 +1", "quorum:vote:1:+1", "primary"]]}
    assert reply_from_json(stored).buttons == (Button("+1", "vote cast #1 +1", "quorum:vote:1:+1", "primary"),)


def test_json_data_shows_a_refresh_without_the_fields_meant_for_adapters() -> None:
    live = Reply("Vote #3: open", live_vote=3, data={"vote": {"id": 3}})
    shown = Reply("Recorded", refresh=live).json_data()["refresh"]
    assert "live_vote" not in shown and shown["data"] == {"vote": {"id": 3}} and shown["text"] == "Vote #3: open"
