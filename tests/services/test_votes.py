"""Votes through the command dispatcher and the vote service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import build_services
from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings
from bot.services import Services
from storage.db import Database
from storage.queries import members as members_q
from storage.queries import votes as q
from tests.helpers import Members, ok, run

TABLES = ("vote", "vote_electorate", "ballot", "vote_event")


async def dump(db: Database) -> dict[str, list[Any]]:
    """Everything the votes feature stores, to show a failed command changed nothing."""
    found: dict[str, list[Any]] = {}
    async with db.read() as session:
        for table in TABLES:
            rows = await session.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2"))
            found[table] = [tuple(r) for r in rows]
    return found


async def log_of(services: Services, vote_id: int) -> list[dict[str, Any]]:
    """The vote's hash-chained log, as ``quorum export`` gives it."""
    events: list[dict[str, Any]] = next(v["events"] for v in await services.vote_audit.export() if v["id"] == vote_id)
    return events


async def with_electorate(dispatcher: Dispatcher, members: Members, *names: str) -> None:
    """Members act once holding PMC, so the platform-reported role is known when a vote opens."""
    for name in names:
        await ok(dispatcher, members.chair(name), "/vote list")


async def open_vote(dispatcher: Dispatcher, members: Members, extra: str = "") -> int:
    reply = await ok(dispatcher, members.chair("alice"),
                     f'/vote open "Adopt the RFC process" link=https://discuss.tvm.apache.org/t/11 {extra}')
    return int(reply.data["vote"]["id"])


async def test_open_snapshots_the_electorate_and_shows_it(dispatcher: Dispatcher, members: Members) -> None:
    await with_electorate(dispatcher, members, "bob", "dan")
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Adopt the RFC process" rule=lazy-majority')
    vote = reply.data["vote"]
    # alice and bob and dan were seen holding PMC; carol is listed in the config.
    assert vote["electorate"] == ["console:alice", "console:bob", "console:carol", "console:dan"]
    assert reply.kind == "vote" and not reply.ephemeral
    assert f"Electorate: 4 holders of PMC when it opened (digest {vote['electorate_digest'][:12]})" in reply.text
    assert vote["closes_at"] == "2022-03-04T12:00:00Z"  # 72 h after the clock's 2022-03-01 12:00
    assert [b.id for b in reply.buttons] == [f"quorum:vote:{vote['id']}:+1", f"quorum:vote:{vote['id']}:0",
                                             f"quorum:vote:{vote['id']}:-1"]
    assert reply.buttons[0].action == f"vote cast #{vote['id']} +1"
    assert all(b.prompt is None for b in reply.buttons)


async def test_consensus_minus_one_button_asks_for_a_reason(dispatcher: Dispatcher, members: Members) -> None:
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Veto me" rule=consensus')
    assert reply.buttons[2].prompt == "Reason for your veto"


async def test_cast_change_and_close_with_an_apache_result(dispatcher: Dispatcher, members: Members,
                                                           services: Services, clock: ManualClock) -> None:
    await with_electorate(dispatcher, members, "bob", "dan")
    vote_id = await open_vote(dispatcher, members, "rule=lazy-two-thirds")
    first = await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} -1")
    assert first.data["ballot"] == {"voter": "console:bob", "value": "-1", "binding": True, "change": "new"}
    refreshed = first.refresh
    assert refreshed is not None
    assert refreshed.kind == "vote" and "Binding so far: 0 +1, 0 0, 1 -1" in refreshed.text
    clock.advance(timedelta(hours=1))
    changed = await ok(dispatcher, members.chair("bob"), f'/vote cast #{vote_id} +1 "convinced"')
    # The reply is built from the ballot just written, never from the one it replaced.
    assert changed.text.startswith(f'Changed your vote on #{vote_id} "Adopt the RFC process" from -1 to +1.')
    assert changed.data["ballot"] == {"voter": "console:bob", "value": "+1", "binding": True, "change": "changed"}
    assert [(b["voter"], b["value"], b["comment"]) for b in changed.data["vote"]["ballots"]] == [
        ("console:bob", "+1", "convinced")]
    refreshed = changed.refresh
    assert refreshed is not None
    assert "Binding so far: 1 +1, 0 0, 0 -1" in refreshed.text and '  +1 bob ("convinced")' in refreshed.text
    again = await ok(dispatcher, members.chair("bob"), f'/vote cast #{vote_id} +1 "convinced"')
    assert again.data["ballot"]["change"] == "unchanged"
    await ok(dispatcher, members.chair("alice"), f"/vote cast #{vote_id} +1")
    await ok(dispatcher, members.actor("carol"), f"/vote cast #{vote_id} +0")  # config member, no platform role
    await ok(dispatcher, members.chair("dan"), f'/vote cast #{vote_id} +1')
    guest = await ok(dispatcher, members.member("erin"), f'/vote cast #{vote_id} -1 "(binding) no"')
    assert guest.data["ballot"]["binding"] is False
    assert "does not change that" in guest.text

    closed = await ok(dispatcher, members.chair("alice"), f"/vote close #{vote_id}")  # everyone voted
    vote = closed.data["vote"]
    assert closed.title == "[RESULT][VOTE] Adopt the RFC process"
    assert vote["outcome"] == "passed" and vote["status"] == "closed" and not vote["close_forced"]
    assert vote["tally"] == {"binding": {"+1": 3, "0": 1, "-1": 0}, "non_binding": {"+1": 0, "0": 0, "-1": 1}}
    assert "  +1 bob (\"convinced\")" in closed.text and "  +0 carol" in closed.text
    assert "Non-binding: 0 +1, 0 0, 1 -1" in closed.text
    assert "Every member of the electorate voted." in closed.text
    assert f"Final digest: {vote['head_digest']}" in closed.text
    assert f"Opened digest: {vote['opened_digest']}" in closed.text and vote["opened_digest"] != vote["head_digest"]
    async with services.db.read() as session:
        ballots = (await q.ballots_of_many(session, [vote_id]))[vote_id]
    assert [e["kind"] for e in await log_of(services, vote_id)] == ["open", "ballot", "change", "ballot", "ballot",
                                                                    "ballot", "ballot", "close"]
    assert len(ballots) == 5 and next(b for b in ballots if b[1] == "console:bob")[7] == 1  # one change
    assert (await services.vote_audit.verify()).problem is None


async def test_snapshot_late_and_lost_roles(dispatcher: Dispatcher, members: Members) -> None:
    await with_electorate(dispatcher, members, "dan")
    vote_id = await open_vote(dispatcher, members)
    # frank gets PMC after the vote opened: his ballot is not binding.
    late = await ok(dispatcher, members.chair("frank"), f"/vote cast #{vote_id} +1")
    assert late.data["ballot"]["binding"] is False
    # dan lost PMC after it opened: his ballot stays binding.
    lost = await ok(dispatcher, members.member("dan"), f"/vote cast #{vote_id} -1")
    assert lost.data["ballot"]["binding"] is True
    status = await ok(dispatcher, members.member("zoe"), f"/vote status #{vote_id}")
    assert status.data["vote"]["tally"]["binding"]["-1"] == 1
    assert status.data["vote"]["tally"]["non_binding"]["+1"] == 1
    assert status.ephemeral


async def test_each_vote_casts_against_its_own_snapshot(dispatcher: Dispatcher, members: Members) -> None:
    """The service keeps a vote's electorate after its first cast: a later vote, with another snapshot,
    is never answered from the first one's, whichever is cast on first."""
    first = await open_vote(dispatcher, members)
    before = await ok(dispatcher, members.chair("frank"), f"/vote cast #{first} +1")  # frank holds PMC now
    assert before.data["ballot"]["binding"] is False
    second = await open_vote(dispatcher, members)
    for vote_id, binding in ((second, True), (first, False), (second, True)):
        value = "-1" if vote_id == first else "0"
        reply = await ok(dispatcher, members.chair("frank"), f"/vote cast #{vote_id} {value}")
        assert reply.data["ballot"]["binding"] is binding
        assert ("console:frank" in reply.data["vote"]["electorate"]) is binding


class FakeDirectory:
    """The platform boundary: what Discord or Slack would list as a role's holders."""

    def __init__(self, holders: dict[str, str] | None, names: dict[str, str] | None = None) -> None:
        self.listing = holders
        self.known_names = names or {}
        self.asked: list[tuple[str, str]] = []
        self.names_asked: list[list[str]] = []

    async def holders(self, workspace_id: str, role: str) -> dict[str, str] | None:
        self.asked.append((workspace_id, role))
        return self.listing

    async def names(self, workspace_id: str, member_ids: Sequence[str]) -> dict[str, str]:
        self.names_asked.append(list(member_ids))
        return {m: self.known_names[m] for m in member_ids if m in self.known_names}


async def test_a_platform_listing_joins_the_snapshot(dispatcher: Dispatcher, members: Members,
                                                     services: Services) -> None:
    directory = FakeDirectory({"console:gil": "Gil G.", "console:hana": "Hana"})
    services.role_directories["console"] = directory
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "With listing"')
    # The platform's fresh listing replaces what it reported before (alice's PMC is not in it); config
    # members always count.
    assert reply.data["vote"]["electorate"] == ["console:carol", "console:gil", "console:hana"]
    assert "Gil G." in reply.text
    assert directory.asked == [("tvm", "PMC")]
    assert await services.members.role_holders("tvm", "PMC") == ["console:carol", "console:gil", "console:hana"]
    listed = await ok(dispatcher, members.member("zoe"), f"/vote electorate #{reply.data['vote']['id']}")
    assert "  Gil G. (console:gil): platform listing" in listed.text
    assert "  carol (console:carol): config" in listed.text
    assert listed.ephemeral and [m["source"] for m in listed.data["electorate"]] == ["config", "listing", "listing"]


async def test_config_only_members_are_named_by_the_platform(dispatcher: Dispatcher, members: Members,
                                                             services: Services, db: Database) -> None:
    """Carol is listed in the config and never used the bot: the platform is asked for her name once,
    the electorate (and so the result's "did not vote") shows it, and later snapshots know it."""
    directory = FakeDirectory(None, names={"console:carol": "Carol Carter"})
    services.role_directories["console"] = directory
    await with_electorate(dispatcher, members, "bob")
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Names"')
    assert "Carol Carter" in reply.text
    assert directory.names_asked == [["console:carol"]], "only the member without a name is asked for"
    async with db.read() as session:
        assert (await members_q.display_names(session, "tvm", ["console:carol"])) == {
            "console:carol": "Carol Carter"}
    await ok(dispatcher, members.chair("alice"), '/vote open "Again"')
    assert directory.names_asked == [["console:carol"]], "known now: not asked again"


async def test_short_votes_need_force_and_say_so(dispatcher: Dispatcher, members: Members) -> None:
    refused = await run(dispatcher, members.chair("alice"), '/vote open "Quick" duration=24h')
    assert not refused.ok and "shorter than the 72h minimum: give force=yes" in refused.text
    reply = await ok(dispatcher, members.chair("alice"), '/vote open "Quick" duration=24h force=yes')
    assert reply.data["vote"]["short_forced"] is True
    assert "Short vote: open for 1d" in reply.text


async def test_the_deadline_closes_the_vote_as_of_the_deadline(dispatcher: Dispatcher, members: Members,
                                                                services: Services, clock: ManualClock) -> None:
    vote_id = await open_vote(dispatcher, members, "rule=lazy-consensus")
    await ok(dispatcher, members.chair("alice"), f"/vote cast #{vote_id} +1")
    clock.advance(timedelta(hours=80))
    # The ticker would call close_due; a command reads the vote first and must never show it open.
    status = await ok(dispatcher, members.member("bob"), f"/vote status #{vote_id}")
    assert status.data["vote"]["status"] == "closed"
    assert status.data["vote"]["closed_at"] == "2022-03-04T12:00:00Z"
    assert status.data["vote"]["outcome"] == "passed" and "at its deadline" in status.text
    late = await run(dispatcher, members.chair("alice"), f"/vote cast #{vote_id} -1")
    assert not late.ok and "is closed" in late.text
    assert await services.votes.close_due() == []


async def test_close_due_closes_every_due_vote(dispatcher: Dispatcher, members: Members, services: Services,
                                               clock: ManualClock) -> None:
    first = await open_vote(dispatcher, members)
    second = await open_vote(dispatcher, members, "duration=96h")
    clock.advance(timedelta(hours=73))
    assert await services.votes.close_due() == [first]
    clock.advance(timedelta(hours=30))
    assert await services.votes.close_due() == [second]
    listed = await ok(dispatcher, members.member("bob"), "/vote list closed")
    assert [v["closed_at"] for v in listed.data["votes"]] == ["2022-03-04T12:00:00Z", "2022-03-05T12:00:00Z"]
    assert (await ok(dispatcher, members.member("bob"), "/vote list open")).data["votes"] == []


async def test_early_close_needs_the_whole_electorate_or_force(dispatcher: Dispatcher, members: Members,
                                                              services: Services) -> None:
    vote_id = await open_vote(dispatcher, members, "rule=electorate-majority")
    await ok(dispatcher, members.chair("alice"), f"/vote cast #{vote_id} +1")
    before = await dump(services.db)
    refused = await run(dispatcher, members.chair("alice"), f"/vote close #{vote_id}")
    assert not refused.ok
    assert "1 of 2 binding voters have not voted (carol): wait for the deadline, or close it now with force=yes" \
        in refused.text
    assert await dump(services.db) == before
    closed = await ok(dispatcher, members.chair("alice"), f"/vote close #{vote_id} force=yes")
    # 1 of an electorate of 2 is half, not more than half.
    assert closed.data["vote"]["close_forced"] is True and closed.data["vote"]["outcome"] == "rejected"
    assert "with force=yes" in closed.text and "Did not vote (1 of the electorate): carol." in closed.text


BAD_INPUT = [
    ("alice", '/vote open "X" rule=simple-majority', "'simple-majority' is not a valid rule"),
    ("alice", '/vote open "X" duration=-5h', "is negative"),
    ("alice", '/vote open "X" duration=400d', "is too long"),
    ("alice", '/vote open "X" duration=45d', "a vote may stay open at most 30d"),
    ("alice", '/vote open "X" duration=2m force=yes', "too short"),
    ("alice", '/vote open "X" role=PCM', "There is no role 'PCM'"),
    ("alice", '/vote open "" ', "empty"),
    ("bob", '/vote open "X"', "is for chairs"),
    ("bob", "/vote close #1 force=yes", "is for chairs"),
    ("alice", "/vote cast #99 +1", "There is no vote #99 here"),
    ("alice", "/vote status #99", "There is no vote #99 here"),
    ("alice", "/vote close #99", "There is no vote #99 here"),
    ("alice", "/vote cast #1 +7", "'+7' is not a valid value: use +1, +0, 0, -0 or -1."),
    ("alice", "/vote cast #2 -1", "Under consensus a -1 is a veto and needs a reason"),
    ("alice", "/vote cast #3 +1", "Vote #3 is closed"),
    ("alice", "/vote close #3 force=yes", "Vote #3 is already closed"),
]


@pytest.mark.parametrize(("who", "command", "message"), BAD_INPUT, ids=[b[1] for b in BAD_INPUT])
async def test_bad_input_is_one_sentence_and_changes_nothing(dispatcher: Dispatcher, members: Members,
                                                             services: Services, who: str, command: str,
                                                             message: str) -> None:
    await open_vote(dispatcher, members)                                      # 1
    await open_vote(dispatcher, members, "rule=consensus")                    # 2
    third = await open_vote(dispatcher, members)                              # 3, closed
    await ok(dispatcher, members.chair("alice"), f"/vote close #{third} force=yes")
    await ok(dispatcher, members.member("bob"), "/vote list")  # bob is known, without a role
    before = await dump(services.db)
    actor = members.chair("alice") if who == "alice" else members.member("bob")
    reply = await run(dispatcher, actor, command)
    assert not reply.ok and reply.ephemeral
    assert message in reply.text
    assert reply.text.count(". ") <= 1, reply.text  # one sentence (a usage hint may follow)
    assert await dump(services.db) == before


async def test_other_workspaces_votes_are_not_found(dispatcher: Dispatcher, members: Members,
                                                    settings: Settings) -> None:
    vote_id = await open_vote(dispatcher, members)
    other = Members(settings, workspace="elsewhere")
    reply = await run(dispatcher, other.chair("alice"), f"/vote cast #{vote_id} +1")
    assert not reply.ok and "There is no vote" in reply.text


async def test_empty_electorate_is_refused(services: Services, members: Members, settings: Settings) -> None:
    from bot.config import RoleConfig
    from bot.errors import Conflict

    lonely = Settings(database_url=settings.database_url, roles={**settings.roles, "TSC": RoleConfig("TSC")},
                      chair_roles=("PMC",), binding_role="PMC")
    votes = build_services(services.db, services.clock, lonely).votes
    with pytest.raises(Conflict, match="Nobody holds the role TSC"):
        await votes.open(members.chair("alice"), "Nobody", role="TSC")


async def test_simultaneous_casts_leave_one_current_ballot(dispatcher: Dispatcher, members: Members,
                                                           services: Services, database_url: str,
                                                           clock: ManualClock, settings: Settings) -> None:
    await with_electorate(dispatcher, members, "bob")
    vote_id = await open_vote(dispatcher, members)
    # Two replicas: separate engines and pools on the same database.
    other_db = Database(database_url)
    try:
        replica = build_services(other_db, clock, settings)
        bob = members.chair("bob")
        for round_ in range(5):
            values = ("+1", "-1") if round_ % 2 == 0 else ("0", "+1")
            await asyncio.gather(services.votes.cast(bob, vote_id, values[0]),
                                 replica.votes.cast(bob, vote_id, values[1]),
                                 services.votes.cast(bob, vote_id, values[1], "same moment"))
        async with services.db.read() as session:
            ballots = (await q.ballots_of_many(session, [vote_id]))[vote_id]
        events = await log_of(services, vote_id)
        assert [b[1] for b in ballots] == ["console:bob"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert (await services.vote_audit.verify()).problem is None
        # The current ballot is the last one the log recorded.
        last = [e for e in events if e["kind"] in ("ballot", "change")][-1]
        assert last["payload"]["value"] == ballots[0][3]
    finally:
        await other_db.dispose()


async def test_the_upsert_alone_keeps_one_row_under_concurrency(dispatcher: Dispatcher, members: Members,
                                                                services: Services, database_url: str) -> None:
    """The unique constraint, not the vote lock, is what guarantees one current ballot."""
    vote_id = await open_vote(dispatcher, members)
    other_db = Database(database_url)
    now = services.clock.now()

    async def upsert(db: Database, value: str) -> None:
        async with db.write() as session:
            await q.upsert_ballot(session, {"vote_id": vote_id, "voter": "console:bob", "voter_name": "bob",
                                            "value": value, "comment": None, "binding": False, "cast_at": now,
                                            "changes": 0})

    try:
        await asyncio.gather(*(upsert(services.db if i % 2 else other_db, "+1" if i % 3 else "-1")
                               for i in range(8)))
        async with services.db.read() as session:
            ballots = (await q.ballots_of_many(session, [vote_id]))[vote_id]
        assert len(ballots) == 1 and ballots[0][7] == 7  # one insert, seven updates
    finally:
        await other_db.dispose()


async def test_verify_names_an_edited_ballot_and_event(dispatcher: Dispatcher, members: Members,
                                                       services: Services) -> None:
    await with_electorate(dispatcher, members, "bob")
    vote_id = await open_vote(dispatcher, members)
    await ok(dispatcher, members.chair("bob"), f"/vote cast #{vote_id} -1")
    assert (await services.vote_audit.verify()).problem is None
    async with services.db.write() as session:
        await session.execute(text("UPDATE ballot SET value = '+1' WHERE voter = 'console:bob'"))
    problem = (await services.vote_audit.verify()).problem
    assert problem is not None and "ballot of console:bob says +1 (binding) but the log says -1" in problem.message
    async with services.db.write() as session:
        await session.execute(text("UPDATE ballot SET value = '-1' WHERE voter = 'console:bob'"))
        await session.execute(text("UPDATE vote_event SET payload = replace(payload, '-1', '+1') WHERE seq = 2"))
    problem = (await services.vote_audit.verify()).problem
    assert problem is not None and problem.seq == 2
    assert "event 2 (ballot by console:bob) does not match its hash" in problem.message


async def test_export_has_the_spec_keys_and_verifies(dispatcher: Dispatcher, members: Members,
                                                     services: Services) -> None:
    from bot.rules.vote_log import check_vote, stated_from_export

    vote_id = await open_vote(dispatcher, members)
    await ok(dispatcher, members.chair("alice"), f'/vote cast #{vote_id} +1 "yes"')
    exported = await services.export.as_dict()
    (vote,) = exported["votes"]
    for key in ("id", "title", "rule", "status", "opened_at", "closes_at", "electorate", "tally", "outcome",
                "ballots", "events", "head_digest"):
        assert key in vote
    assert vote["ballots"][0].keys() >= {"voter", "voter_name", "value", "binding", "cast_at"}
    assert vote["tally"]["binding"] == {"+1": 1, "0": 0, "-1": 0} and vote["outcome"] is None
    assert check_vote(stated_from_export(vote)) is None
    vote["ballots"][0]["value"] = "-1"
    problem = check_vote(stated_from_export(vote))
    assert problem is not None and "ballot of console:alice" in problem.message
    markdown = await services.export.as_markdown()
    assert "## Vote #1: Adopt the RFC process" in markdown and "| alice | +1 | yes |" in markdown


async def test_recorded_vote_messages_are_redrawn_as_the_result_at_the_close(
        dispatcher: Dispatcher, members: Members, services: Services, db: Database, clock: ManualClock) -> None:
    from storage.queries import outbox as outbox_q

    await with_electorate(dispatcher, members, "bob")
    vote_id = await open_vote(dispatcher, members)
    votes = services.votes
    assert await votes.remember_message("tvm", vote_id, "111:222")
    assert await votes.remember_message("tvm", vote_id, "111:222"), "recording it again keeps one"
    assert await votes.remember_message("tvm", vote_id, "111:333")
    assert not await votes.remember_message("elsewhere", vote_id, "111:444"), "another workspace's vote"
    assert not await votes.remember_message("tvm", vote_id + 1, "111:444"), "no such vote"

    clock.advance(timedelta(hours=72))
    await votes.close_due()
    async with db.read() as session:
        redraws = await outbox_q.with_prefix(session, f"vote:{vote_id}:redraw:")
    assert sorted((r.kind, r.target) for r in redraws) == [("update", "111:222"), ("update", "111:333")]
    assert all('"[RESULT][VOTE] Adopt the RFC process"' in r.payload for r in redraws)
    assert not await votes.remember_message("tvm", vote_id, "111:555"), "a closed vote records nothing more"
