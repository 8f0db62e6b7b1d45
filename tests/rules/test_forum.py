"""Pure forum rules: which links are topics of the configured forum, external ids, when a topic opens,
the pre-RFC rule, and neutralised member text."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.rules.forum import (
    MAX_EXTERNAL_ID,
    eligible_from,
    meeting_external_id,
    neutral,
    topic_id_in,
    topic_opens_at,
    vote_external_id,
)
from tests.helpers import utc


def test_topic_links_of_the_configured_forum_only() -> None:
    host = "discuss.tvm.apache.org"
    assert topic_id_in("https://discuss.tvm.apache.org/t/pre-rfc-unify/12171", host) == 12171
    assert topic_id_in("https://discuss.tvm.apache.org/t/pre-rfc-unify/12171/4", host) == 12171
    assert topic_id_in("https://DISCUSS.tvm.apache.org/t/12171", host) == 12171
    assert topic_id_in("https://discuss.tvm.apache.org/c/meetings/7", host) is None
    assert topic_id_in("https://evil.example.org/t/x/12171", host) is None
    assert topic_id_in("https://github.com/apache/tvm/issues/1", host) is None
    assert topic_id_in("https://discuss.tvm.apache.org/t/x/1", None) is None


@given(st.integers(min_value=1, max_value=10**12), st.text(min_size=1, max_size=80))
def test_external_ids_fit_discourse(series_id: int, key: str) -> None:
    made = meeting_external_id(series_id, key)
    assert len(made) <= MAX_EXTERNAL_ID and made == meeting_external_id(series_id, key)
    assert len(vote_external_id(series_id)) <= MAX_EXTERNAL_ID


def test_distinct_meetings_have_distinct_ids() -> None:
    assert meeting_external_id(1, "2027-03-17") == "quorum-m1-2027-03-17"
    assert meeting_external_id(1, "2027-03-17") != meeting_external_id(11, "2027-03-17")
    assert meeting_external_id(1, "x" * 60) != meeting_external_id(1, "x" * 61)


def test_a_topic_opens_after_the_previous_meeting_but_at_most_the_lead_before() -> None:
    start = utc(2027, 3, 17, 15)
    week = timedelta(days=7)
    assert topic_opens_at(start, utc(2027, 3, 10, 16), week) == utc(2027, 3, 10, 16)
    assert topic_opens_at(start, utc(2027, 2, 24, 16), week) == utc(2027, 3, 10, 15)  # the previous was long ago
    assert topic_opens_at(start, None, timedelta(days=3)) == utc(2027, 3, 14, 15)


def test_pre_rfc_rule() -> None:
    assert eligible_from(utc(2027, 3, 16, 20), timedelta(hours=24)) == utc(2027, 3, 17, 20)


def test_member_text_cannot_ping_or_inject_markup() -> None:
    shown = neutral("@everyone look at <script>[x](http://e)</script> **now**\n# heading")
    assert "@everyone" not in shown and "@\u200beveryone" in shown
    assert "<" not in shown.replace("\\<", "") and "[" not in shown.replace("\\[", "")
    assert "\n" not in shown and "\\*\\*now\\*\\*" in shown


def test_forum_minutes_escape_member_text_once_and_mention_no_one() -> None:
    from bot.rules.minutes import MinutesInput, MinutesItem, MinutesNote
    from bot.services.forum_text import minutes_reply

    posted = minutes_reply(MinutesInput(
        "TVM sync", "Wed 2022-03-02 16:00 UTC", "alice", "@here", [MinutesItem(1, 1, "Rename foo_bar", "https://x.org/1",
                                                                               "bob", 1)],
        [MinutesNote(1, "decision", "Ask @carol about <T> and *this*", 1)]))
    assert "Rename foo\\_bar" in posted and "foo\\\\" not in posted  # escaped once, as Markdown
    assert "Ask @\u200bcarol about \\<T\\> and \\*this\\*" in posted
    assert "@\u200bhere" in posted and "@here" not in posted.replace("@\u200bhere", "")


def test_a_member_link_cannot_end_its_markdown_early() -> None:
    from bot.rules.member_text import autolink

    assert autolink("https://x.org/a)b>[c](<evil>") == "<https://x.org/a)b%3E[c](%3Cevil%3E>"
