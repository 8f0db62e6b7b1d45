"""The ballots a cast reads are found by index searches on SQLite, whatever a vote's size (the cast's cost
must not grow with its ballots: issue 13's 1k vs 100k ballots)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from storage.queries.votes import _BINDING_BALLOTS_AND


def test_a_cast_reads_its_ballots_through_two_index_searches_not_a_scan_of_the_vote(sqlite_url: str) -> None:
    compiled = _BINDING_BALLOTS_AND.compile(dialect=sqlite.dialect())
    values = {"vote_id": 1, "voter": "console:bob"}
    params = [values[name] for name in compiled.positiontup or ()]
    path = make_url(sqlite_url).database
    assert path
    with sqlite3.connect(path) as raw:
        plan = [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + compiled.string, params)]
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert searches and all(step.startswith("SEARCH") for step in searches), plan
    assert not any("ix_ballot_vote_order" in step for step in searches), plan  # the vote's every ballot
