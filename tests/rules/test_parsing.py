"""Parsing of typed values: each failure is one specific sentence."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.rules.links import normalize_link, validate_link, validate_title
from bot.rules.parsing import parse_date, parse_duration, parse_time, parse_weekday, parse_zone, parse_zone_list


def test_dates() -> None:
    assert parse_date("2022-03-02") == date(2022, 3, 2)
    with pytest.raises(InvalidInput, match="February 2022 has 28 days"):
        parse_date("2022-02-30")
    with pytest.raises(InvalidInput, match="February 2024 has 29 days"):
        parse_date("2024-02-30")
    with pytest.raises(InvalidInput, match="month must be 01 to 12"):
        parse_date("2022-13-01")
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_date("March 2")


def test_times() -> None:
    assert parse_time("08:00") == time(8, 0)
    assert parse_time("8:05") == time(8, 5)
    with pytest.raises(InvalidInput, match="hours run 00-23"):
        parse_time("24:00")
    with pytest.raises(InvalidInput, match="24-hour clock"):
        parse_time("8am")


@pytest.mark.parametrize(("text", "expected"), [
    ("72h", timedelta(hours=72)), ("90m", timedelta(minutes=90)), ("3d", timedelta(days=3)),
    ("1h30m", timedelta(minutes=90)), ("60", timedelta(minutes=60)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("-5h", "negative"), ("0h", "zero"), ("soon", "not a duration"), ("400d", "too long"),
    ("5 hours", "not a duration"),
])
def test_bad_durations(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_duration(text)


def test_zones() -> None:
    assert parse_zone("America/Los_Angeles").key == "America/Los_Angeles"
    assert parse_zone("utc").key == "UTC"
    with pytest.raises(InvalidInput, match="Did you mean America/Los_Angeles"):
        parse_zone("America/Los_Angelos")
    with pytest.raises(InvalidInput, match="not a time zone"):
        parse_zone("../../etc/passwd")
    assert parse_zone_list("UTC, Europe/London,UTC") == ("UTC", "Europe/London")


def test_weekdays() -> None:
    assert parse_weekday("wed") == 2
    assert parse_weekday("Wednesday") == 2
    with pytest.raises(InvalidInput, match="mon, tue"):
        parse_weekday("wensday")


def test_links() -> None:
    assert validate_link("https://github.com/apache/tvm/issues/1") == "https://github.com/apache/tvm/issues/1"
    with pytest.raises(InvalidInput, match="not a web link"):
        validate_link("ftp://example.org/x")
    with pytest.raises(InvalidInput, match="not a web link"):
        validate_link("javascript:alert(1)")
    with pytest.raises(InvalidInput, match="at most 500"):
        validate_link("https://example.org/" + "a" * 600)
    with pytest.raises(InvalidInput, match=r"not accepted in this series: use a link on github\.com"):
        validate_link("https://evil.example/x", ("github.com",))
    assert validate_link("https://discuss.github.com/x", ("github.com",))
    assert normalize_link("HTTPS://GitHub.com/a/b/") == normalize_link("http://github.com/a/b#frag")


def test_titles() -> None:
    with pytest.raises(InvalidInput, match="5000 characters long: keep it to 200"):
        validate_title("x" * 5000)
    with pytest.raises(InvalidInput, match="empty"):
        validate_title("   ")
    assert validate_title("  Release   plan ") == "Release plan"


@given(st.text(max_size=40))
def test_parsers_raise_only_invalid_input(text: str) -> None:
    for parser in (parse_date, parse_time, parse_duration, parse_weekday, parse_zone, validate_link):
        try:
            parser(text)
        except InvalidInput as exc:
            assert exc.message.endswith((".", "?"))


def test_a_duration_beyond_timedelta_is_too_long_not_a_crash() -> None:
    # Found by the property test: 1440000000000 minutes overflows timedelta.
    with pytest.raises(InvalidInput, match="is too long"):
        parse_duration("1440000000000")
