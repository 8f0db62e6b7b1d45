"""A reply's moment labels survive the outbox's JSON, and stored replies without them read as before."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.contracts.reply import Reply, labelled, reply_from_json, reply_to_json

START = datetime(2022, 3, 2, 16, tzinfo=UTC)
DEADLINE = datetime(2022, 3, 1, 16, tzinfo=UTC)


def test_labels_round_trip_and_are_written_only_when_set() -> None:
    reply = Reply(text="x", moments=(START, DEADLINE), moment_labels=("starts", "agenda deadline"))
    assert reply_from_json(reply_to_json(reply)) == reply
    assert "moment_labels" not in reply_to_json(Reply(text="x", moments=(START,)))
    assert reply_from_json(reply_to_json(Reply(text="x", moments=(START,)))).moment_labels == ()


def test_labelled_puts_each_label_before_its_moment() -> None:
    assert labelled((START, DEADLINE), ("starts", "agenda deadline"), lambda m: f"{m:%H:%M}") == \
        "starts 16:00 · agenda deadline 16:00"
    assert labelled((START, DEADLINE), (), lambda m: f"{m:%d}") == "02 · 01"
