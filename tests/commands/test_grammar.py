"""The text grammar: tokens, option binding by name and shape, and errors for everything else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.catalog import REGISTRY
from bot.commands.grammar import parse, tokenize
from bot.commands.options import Token
from bot.errors import InvalidInput


def test_tokenize_quotes_and_keywords() -> None:
    assert tokenize('agenda add "Release plan" https://x.org/1 date=2022-03-02') == [
        Token("agenda"), Token("add"), Token("Release plan", quoted=True), Token("https://x.org/1"),
        Token("date=2022-03-02"),
    ]
    assert tokenize('name="Community meeting"') == [Token("name=Community meeting", quoted=True)]
    assert tokenize("“curly quotes”") == [Token("curly quotes", quoted=True)]


def test_unbalanced_quote() -> None:
    with pytest.raises(InvalidInput, match="quote is not closed"):
        tokenize('/agenda add "Release plan https://x.org')


def test_positional_binding_by_shape() -> None:
    parsed = parse('/agenda add "Release plan" https://github.com/a/b/issues/1 community date=2022-03-09')
    assert parsed.command.name == "agenda add"
    assert parsed.args == {"title": "Release plan", "link": "https://github.com/a/b/issues/1",
                           "series": "community", "date": date(2022, 3, 9)}
    cancel = parse("/meeting cancel 2022-03-09 community")
    assert cancel.args == {"date": date(2022, 3, 9), "series": "community"}
    only_series = parse("/meeting cancel community")
    assert only_series.args == {"series": "community"}


def test_series_create_options() -> None:
    parsed = parse('/meeting series create slug=community name="TVM Community" weekday=wed time=08:00 '
                   "tz=America/Los_Angeles deadline=48h zones=UTC,Asia/Shanghai")
    assert parsed.args["weekday"] == 2 and parsed.args["deadline"] == timedelta(hours=48)
    assert parsed.args["zones"] == ("UTC", "Asia/Shanghai")


def test_link_with_query_is_not_an_option() -> None:
    parsed = parse('/agenda add "Q" https://example.org/view?id=3&x=1')
    assert parsed.args["link"] == "https://example.org/view?id=3&x=1"


@pytest.mark.parametrize(("text", "message"), [
    ("/meeting frobnicate", "/meeting frobnicate is not a command"),
    ("/meting next", "Did you mean /meeting?"),
    ("/agenda add \"Title\"", "/agenda add needs <link>"),
    ("/agenda add \"Title\" ftp://x.org/1", "not a web link"),
    ("/agenda add \"Title\" https://x.org/1 color=red", "/agenda add has no option 'color'"),
    ("/agenda list 2022-02-30", "February 2022 has 28 days"),
    ("/meeting series create slug=x name=X weekday=wed time=08:00 tz=Mars/Olympus", "not a time zone"),
    ("/meeting add 2022-03-02T08:00", "needs tz"),
    ("/agenda move #3 first", "position= must be a whole number"),
    ("/agenda list community extra words", "I don't know what 'extra' is for"),
    ("/agenda list date=2022-03-02 date=2022-03-09", "given twice"),
    ('/agenda add "' + "x" * 5000 + '" https://x.org/1', "characters long"),
])
def test_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert message in caught.value.message


def test_help_topic_is_greedy() -> None:
    assert parse("/quorum help agenda add").args == {"command": "agenda add"}


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from(["/meeting", "agenda", "add", "list", "next", "series", "create", "#3", "@bob", "=", '"',
                     "date=2022-02-30", "tz=Europe/Berlin", "https://x.org/1", "count=99", "wed", "08:00"]),
    st.text(max_size=12),
), max_size=8))
def test_fuzzed_input_raises_only_invalid_input(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except InvalidInput as exc:
        assert exc.message


def test_registry_has_every_spec_group_command() -> None:
    names = {c.name for c in REGISTRY.all()}
    for expected in ("meeting next", "meeting list", "meeting series create", "meeting add", "meeting cancel",
                     "meeting restore", "agenda add", "agenda list", "agenda remove", "agenda move", "me tz",
                     "quorum help"):
        assert expected in names
    for command in REGISTRY.all():
        assert command.summary.endswith(".") and command.usage().startswith("/" + command.path[0])
