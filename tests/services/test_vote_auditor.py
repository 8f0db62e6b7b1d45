"""An auditor's suite (issue 17): edit every column of every vote table, one at a time, and every field
of an export, and re-hash a whole chain; ``quorum verify`` must name each. The columns are enumerated
from the SQLModel models, so a column added later fails here until verify covers it. On both databases."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select, text, update
from sqlalchemy.exc import IntegrityError

from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.rules.audit import next_event
from bot.rules.vote_log import HeldDigest
from bot.services import Services
from bot.services.vote_audit import verify_export
from bot.services.votes import event_of
from storage.models import Vote, VoteBallot, VoteElectorate, VoteEvent, VoteMessage
from storage.queries import votes as q
from tests.helpers import Members, ok

VOTE_TABLES = (Vote, VoteElectorate, VoteBallot, VoteEvent, VoteMessage)

# Columns whose edit is not a change to any vote's record, and why. Everything else must be named.
NOT_RECORD = {
    ("vote_event", "id"): "a surrogate row number: the log is ordered and chained by (vote_id, seq), which the "
                          "hash covers, and the id is never read",
    ("vote_message", "vote_id"): "vote_message only remembers which platform messages to redraw at the close "
                                 "(migration 0007): not part of the vote's record or its chain",
    ("vote_message", "message_ref"): "as above",
    ("vote_message", "recorded_at"): "as above",
}

# The row of each table that is edited: vote #1's, bob's (bob voted first, then changed his vote).
WHERE = {
    "vote": "id = 1",
    "vote_electorate": "vote_id = 1 AND member_id = 'console:bob'",
    "ballot": "vote_id = 1 AND voter = 'console:bob'",
    "vote_event": "vote_id = 1 AND seq = 2",
}

# What the message of verify must say for an edit of each column (a substring).
TALLY_WORDS = {"tally_binding_plus": "binding +1", "tally_binding_zero": "binding 0",
               "tally_binding_minus": "binding -1", "tally_other_plus": "non_binding +1",
               "tally_other_zero": "non_binding 0", "tally_other_minus": "non_binding -1"}


def expected_words(table: str, column: str) -> str:
    if table == "vote":
        if column in TALLY_WORDS:
            return f"running tally ({TALLY_WORDS[column]})"
        return {"id": "vote #999 has no events", "workspace_id": "its workspace is 'other'",
                "head_digest": "head digest does not match"}.get(column, f"its {column} is")
    if table == "vote_electorate":
        if column in ("vote_id", "member_id"):
            return "vote #1: its electorate is"
        return f"electorate member console:bob's {column}"
    if table == "ballot":
        return {"id": "is listed as number", "vote_id": "the ballot of console:bob is in the log but missing",
                "voter": "there is a ballot of console:zed that the log does not have",
                "value": "the ballot of console:bob says -1", "binding": "the ballot of console:bob says +1 but"
                }.get(column, f"ballot of console:bob: {column}")
    assert table == "vote_event"
    if column in ("vote_id", "seq"):
        return "event 3 (ballot by console:alice) is out of sequence"  # event 2 moved away
    if column == "prev_hash":
        return "event 2 (ballot by console:bob) does not follow the event before it"
    if column == "kind":
        return "event 2 (change by console:bob) does not match its hash"
    return "event 2 (ballot by console:bob) does not match its hash"


def other_hex(digest: str) -> str:
    """Another digest: its first digit changed (reversing the all-zero genesis would give it back)."""
    return ("1" if digest[0] != "1" else "2") + digest[1:]


def tampered(table: str, column: str, value: Any) -> Any:
    """A different value of the column's type: what an editor of the database would write."""
    special = {("vote", "id"): 999, ("vote", "workspace_id"): "other", ("vote", "rule"): "lazy-consensus",
               ("vote", "status"): "open", ("vote", "outcome"): "rejected", ("vote", "closed_by"): "console:bob",
               ("vote_electorate", "vote_id"): 3, ("vote_electorate", "member_id"): "console:zed",
               ("vote_electorate", "source"): "config", ("ballot", "id"): 99999, ("ballot", "vote_id"): 3,
               ("ballot", "voter"): "console:zed", ("ballot", "value"): "-1", ("vote_event", "vote_id"): 3,
               ("vote_event", "seq"): 99, ("vote_event", "kind"): "change"}
    if (table, column) in special:
        return special[table, column]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, datetime):
        return value + timedelta(days=30)
    if value is None:
        return "C0TAMPERED"
    assert isinstance(value, str), (table, column, value)
    if re.fullmatch(r"[0-9a-f]{64}", value):
        return other_hex(value)
    if column == "payload":
        return value[:-1] + ',"tampered":true}'
    return value + " (edited)"


async def scenario(dispatcher: Dispatcher, members: Members, settings: Settings) -> None:
    """Vote #1 (closed, every kind of ballot), vote #2 (open), and vote #3 in another workspace whose
    electorate is not #1's (so a row moved there breaks no unique constraint)."""
    for name in ("bob", "dan"):
        await ok(dispatcher, members.chair(name), "/vote list")
    await ok(dispatcher, members.chair("alice"),
             '/vote open "Adopt the RFC process" link=https://discuss.tvm.apache.org/t/11 rule=lazy-majority')
    await ok(dispatcher, members.chair("bob"), "/vote cast #1 -1 \"not yet\"")
    await ok(dispatcher, members.chair("alice"), '/vote cast #1 +1 "yes"')
    await ok(dispatcher, members.chair("bob"), '/vote cast #1 +1 "convinced"')
    await ok(dispatcher, members.actor("carol"), "/vote cast #1 0")
    await ok(dispatcher, members.chair("dan"), "/vote cast #1 +1")
    await ok(dispatcher, members.member("erin"), '/vote cast #1 -1 "(binding) no"')
    await ok(dispatcher, members.chair("alice"), "/vote close #1")
    await ok(dispatcher, members.chair("alice"), '/vote open "Second"')
    await ok(dispatcher, members.chair("alice"), "/vote cast #2 +1")
    other = Members(settings, workspace="other")
    await ok(dispatcher, other.chair("zed"), '/vote open "Elsewhere"')


def table_of(model: Any) -> Table:
    table: Table = model.__table__
    return table


def columns() -> Iterator[tuple[str, str]]:
    for model in VOTE_TABLES:
        table = table_of(model)
        for column in table.columns:
            yield table.name, column.name


def test_every_column_is_either_checked_or_said_to_be_outside_the_record() -> None:
    every = set(columns())
    assert set(NOT_RECORD) <= every, "an exempt column no longer exists: remove it from NOT_RECORD"
    assert len(every - set(NOT_RECORD)) >= 40  # the vote row alone has 27 columns


async def test_verify_names_every_single_column_edit(dispatcher: Dispatcher, members: Members, settings: Settings,
                                                     services: Services, database_url: str) -> None:
    await scenario(dispatcher, members, settings)
    assert (await services.vote_audit.verify()).problem is None
    named: dict[tuple[str, str], str] = {}
    tables = {table_of(model).name: table_of(model) for model in VOTE_TABLES}
    for table, column in columns():
        if (table, column) in NOT_RECORD:
            continue
        # Through the table's own column types, as an editor with any SQL client would store them.
        core = tables[table]
        async with services.db.read() as session:
            (before,) = (await session.execute(select(core.c[column]).where(text(WHERE[table])))).one()
        after = tampered(table, column, before)
        assert after != before, (table, column)
        try:
            async with services.db.write() as session:
                await session.execute(update(core).where(text(WHERE[table])).values({column: after}))
        except IntegrityError:
            # The database itself refuses the edit (the other vote tables' foreign keys, or the per-workspace
            # number taken in the workspace it would move to): nothing to catch.
            assert (table, column) in {("vote", "id"), ("vote", "workspace_id"), ("vote", "number")}, (table, column)
            named[table, column] = "refused by the database"
            continue
        problem = (await services.vote_audit.verify()).problem
        restore_where = _where_after_edit(table, column, after)
        async with services.db.write() as session:
            await session.execute(update(core).where(text(restore_where)).values({column: before}))
        assert problem is not None, f"an edit of {table}.{column} ({before!r} -> {after!r}) passed verify"
        assert expected_words(table, column) in problem.message, (table, column, problem.message)
        named[table, column] = problem.message
        assert (await services.vote_audit.verify()).problem is None, f"{table}.{column} not restored"
    assert set(named) == set(columns()) - set(NOT_RECORD)


def _where_after_edit(table: str, column: str, after: Any) -> str:
    """The edited row's WHERE once the edit moved it (its key columns changed)."""
    keys = {"vote": {"id": f"id = {after}"},
            "vote_electorate": {"vote_id": f"vote_id = {after} AND member_id = 'console:bob'",
                                "member_id": "vote_id = 1 AND member_id = 'console:zed'"},
            "ballot": {"vote_id": f"vote_id = {after} AND voter = 'console:bob'",
                       "voter": "vote_id = 1 AND voter = 'console:zed'"},
            "vote_event": {"vote_id": f"vote_id = {after} AND seq = 2", "seq": f"vote_id = 1 AND seq = {after}"}}
    return keys.get(table, {}).get(column, WHERE[table])


# -- the export ---------------------------------------------------------------------------------------------


def _shift(value: str) -> str | None:
    """A logged instant a day later, or None when ``value`` is not one."""
    for form in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return (datetime.strptime(value, form) + timedelta(days=1)).strftime(form)
        except ValueError:
            continue
    return None


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "tampered"
    if isinstance(value, str):
        if re.fullmatch(r"[0-9a-f]{64}", value):
            return other_hex(value)
        return _shift(value) or value + " (edited)"
    if isinstance(value, list):
        return [*value, "console:zed"]
    if isinstance(value, dict):
        return {**value, "tampered": True}
    raise AssertionError(value)


def export_edits(entry: dict[str, Any]) -> Iterator[tuple[str, Callable[[dict[str, Any]], None]]]:
    """(path, edit) for every field of a vote's export entry, nested ones included."""

    def setter(*path: Any) -> Callable[[dict[str, Any]], None]:
        def edit(target: dict[str, Any]) -> None:
            holder: Any = target
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = _changed(holder[path[-1]])
        return edit

    for key, value in entry.items():
        if key == "ballots":
            for index, ballot in enumerate(value):
                for field in ballot:
                    yield f"ballots[{index}].{field}", setter(key, index, field)
        elif key == "events":
            for index, event in enumerate(value):
                for field in event:
                    yield f"events[{index}].{field}", setter(key, index, field)
        elif key == "tally":
            for side, counts in value.items():
                for count in counts:
                    yield f"tally.{side}.{count}", setter(key, side, count)
        elif key == "electorate_names":
            for member in value:
                yield f"electorate_names.{member}", setter(key, member)
        elif key == "electorate_sources":
            for member, source in value.items():
                for field in source:
                    yield f"electorate_sources.{member}.{field}", setter(key, member, field)
        else:
            yield key, setter(key)


def export_words(path: str, entry: dict[str, Any]) -> str:
    """What verify's message must say for an edit of the export at ``path``."""
    head, _, rest = path.partition(".")
    if head.startswith("events["):
        seq = entry["events"][int(head[7:-1])]["seq"]
        return f"event {seq} ("
    if head.startswith("ballots["):
        voter = entry["ballots"][int(head[8:-1])]["voter"]
        return {"voter": "there is a ballot of", "value": f"the ballot of {voter} says",
                "binding": f"the ballot of {voter} says"}.get(rest, f"ballot of {voter}: {rest}")
    if head == "tally":
        return f"running tally ({rest.replace('.', ' ')})"
    if head == "electorate_names":
        return f"electorate member {rest}'s display_name"
    if head == "electorate_sources":
        member, _, key = rest.rpartition(".")
        return f"electorate member {member}'s {key}"
    return {"id": "does not match its hash", "head_digest": "head digest does not match"}.get(head, f"its {head} is")


async def test_verify_names_every_single_field_edit_of_an_export(
        dispatcher: Dispatcher, members: Members, settings: Settings, services: Services) -> None:
    await scenario(dispatcher, members, settings)
    exported = json.loads(await services.export.as_json())
    votes = exported["votes"]
    assert verify_export(votes)[1] is None
    entry = next(v for v in votes if v["id"] == 1)
    assert entry["electorate_sources"]["console:bob"]["source"] == "seen"
    edits = list(export_edits(entry))
    assert len(edits) > 100  # 9 events, 6 ballots of 7 fields, 4 electorate members, the vote's own fields
    for path, edit in edits:
        tampered_votes = copy.deepcopy(votes)
        edit(next(v for v in tampered_votes if v["id"] == 1))
        _events, problem = verify_export(tampered_votes)
        assert problem is not None, f"an edit of the export's {path} passed verify"
        assert problem.vote_id in (1, 2), (path, problem)
        assert export_words(path, entry) in problem.message, (path, problem.message)


async def test_a_vote_left_out_of_an_export_is_caught_by_a_held_digest(
        dispatcher: Dispatcher, members: Members, settings: Settings, services: Services) -> None:
    await scenario(dispatcher, members, settings)
    digests = await services.vote_audit.digests(1)
    assert digests is not None and digests.opened and digests.final
    votes = json.loads(await services.export.as_json())["votes"]
    held = [HeldDigest("1", digests.final), HeldDigest("1", digests.opened)]
    assert verify_export(votes, held)[1] is None
    _events, problem = verify_export([v for v in votes if v["id"] != 1], held)
    assert problem is not None and problem.field == "digest"
    assert (f"vote 1: the digest held for it ({digests.final[:16]}…) is not the opened or final digest"
            in problem.message)


async def rehash(services: Services, vote_id: int, title: str) -> None:
    """What a careful forger does: rewrite the vote's opening (here its title) and the row, then recompute
    every hash of the chain and the stored digests, so the log is consistent again."""
    async with services.db.write() as session:
        rows = await q.event_page(session, vote_id, 0, 1000)
        previous = None
        for row in rows:
            event = event_of(row)
            payload = dict(event.payload)
            if event.kind == "open":
                payload["title"] = title
            forged = next_event(previous, vote_id, event.kind, event.at, payload)
            await session.execute(text("UPDATE vote_event SET payload = :p, prev_hash = :ph, hash = :h "
                                       "WHERE vote_id = :v AND seq = :s"),
                                  {"p": json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
                                   "ph": forged.prev_hash, "h": forged.hash, "v": vote_id, "s": event.seq})
            previous = forged
        assert previous is not None
        first = next_event(None, vote_id, "open", event_of(rows[0]).at,
                           {**event_of(rows[0]).payload, "title": title}).hash
        await session.execute(text("UPDATE vote SET title = :t, head_digest = :h, opened_digest = :o WHERE id = :v"),
                              {"t": title, "h": previous.hash, "o": first, "v": vote_id})


async def test_a_rehashed_chain_passes_alone_and_is_caught_by_a_held_digest(
        dispatcher: Dispatcher, members: Members, settings: Settings, services: Services) -> None:
    await scenario(dispatcher, members, settings)
    held = await services.vote_audit.digests(1)
    assert held is not None and held.opened is not None and held.final is not None
    await rehash(services, 1, "Abandon the RFC process")
    # The forged log is consistent with itself and with the tables: on its own, verify cannot tell.
    assert (await services.vote_audit.verify()).problem is None
    for digest in (held.opened, held.final):
        problem = (await services.vote_audit.verify([HeldDigest("#1", digest)])).problem
        assert problem is not None and problem.vote_id == 1 and "log was rewritten" in problem.message
    # The same forged record, exported, is caught the same way.
    votes = json.loads(await services.export.as_json())["votes"]
    assert verify_export(votes)[1] is None
    problem = verify_export(votes, [HeldDigest("1", held.final)])[1]
    assert problem is not None and problem.field == "digest"


@pytest.mark.parametrize("digest", ["3=abc", "=" + "a" * 64, "no-equals-sign"])
def test_a_malformed_held_digest_is_refused_with_how_to_write_it(digest: str) -> None:
    from bot.rules.vote_log import parse_held_digest

    with pytest.raises(ValueError, match="64 hex digits"):
        parse_held_digest(digest)


async def test_the_vote_message_shows_the_opened_digest_and_the_result_the_final_one(
        dispatcher: Dispatcher, members: Members, services: Services) -> None:
    from bot.services.vote_audit import digests_of

    await ok(dispatcher, members.chair("bob"), "/vote list")
    opened = await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC process" rule=lazy-consensus')
    number = opened.data["vote"]["id"]
    held = await services.vote_audit.digests(number)
    assert held is not None and held.opened is not None and held.final is None  # open: no final digest yet
    assert f"Opened digest: {held.opened} (covers the title, link, rule, deadline and electorate" in opened.text
    await ok(dispatcher, members.chair("alice"), f"/vote cast #{number} +1")
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{number} +1")
    await ok(dispatcher, members.actor("carol"), f"/vote cast #{number} +1")
    result = await ok(dispatcher, members.chair("alice"), f"/vote close #{number}")
    closed = await services.vote_audit.digests(number)
    assert closed is not None and closed.opened == held.opened and closed.final is not None
    assert f"Opened digest: {held.opened}" in result.text and f"Final digest: {closed.final}" in result.text
    assert digests_of(await services.votes.summary(members.workspace, number)) == closed
    assert await services.vote_audit.digests(999) is None
