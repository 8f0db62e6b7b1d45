"""A community's meeting week running by itself, end to end, with the real rotation at the agenda
deadline and a notifier that records every message: rosters, agenda, the channel reminder, the
announcement naming the fixed host and note-taker, the DMs, the meeting held, notes, and the minutes
published through the outbox. Every message is compared with the exact list expected, so a message
sent twice, late or not at all fails the test. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from bot.contracts.outbound import OutboundMessage
from bot.services import Services
from storage.models import Meeting
from storage.queries import meetings as meetings_q
from tests.helpers import SEED_SERIES, Members, ok, run, utc
from tests.services.reminder_helpers import RecordingNotifier, outbox_rows, tick

SERIES = SEED_SERIES + " channel=general"
START = datetime(2022, 3, 2, 16, 0, tzinfo=UTC)  # Wed 08:00 PST
DEADLINE = START - timedelta(hours=24)


def sends(messages: list[tuple[datetime, OutboundMessage]]) -> list[tuple[datetime, str, str, str]]:
    """(when, kind, target, key) of every message the notifier received, in order."""
    return [(when, message.kind, message.target, message.key) for when, message in messages]


async def meeting_row(services: Services, key: str) -> Meeting:
    async with services.db.read() as session:
        series = await meetings_q.series_by_slug(session, "tvm", "community")
        assert series is not None and series.id is not None
        row = await meetings_q.meeting_by_key(session, series.id, key)
        assert row is not None
        return row


async def start_season(dispatcher: Dispatcher, services: Services, members: Members,
                       clock: ManualClock) -> RecordingNotifier:
    notifier = RecordingNotifier(clock)
    services.notifiers["console"] = notifier
    await ok(dispatcher, members.chair("alice"), SERIES)
    for name in ("bob", "carol", "dan"):
        await ok(dispatcher, members.member(name), "/rotation join host")
    for name in ("erin", "frank"):
        await ok(dispatcher, members.member(name), "/rotation join notes")
    await ok(dispatcher, members.member("erin"), "/me tz Asia/Kolkata")
    await ok(dispatcher, members.member("carol"), "/me tz Europe/London")
    await ok(dispatcher, members.member("dan"), "/me tz Europe/Berlin")
    return notifier


async def test_a_meeting_week_runs_by_itself(dispatcher: Dispatcher, services: Services, members: Members,
                                            clock: ManualClock) -> None:
    notifier = await start_season(dispatcher, services, members, clock)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    await ok(dispatcher, members.member("dan"), '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    provisional = await ok(dispatcher, members.member("zoe"), "/meeting next")
    assert provisional.data["meeting"]["provisional"] is True
    assert "Host: bob (provisional) · Note-taker: erin (provisional)" in provisional.text

    await tick(services)  # Tue 12:00: nothing is due yet
    clock.set(DEADLINE - timedelta(hours=2))  # the channel reminder
    await tick(services)
    clock.set(DEADLINE)  # the announcement, with the host and note-taker fixed in the same step
    await tick(services)
    row = await meeting_row(services, "2022-03-02")
    assert (row.host, row.note_taker, row.assigned_at) == ("console:bob", "console:erin", DEADLINE)
    assert await services.rotation.fix_due() == 0  # nothing left to fix, and fixing again changes nothing
    for minutes in (1, 30, 90):  # ticks between send nothing again
        clock.set(DEADLINE + timedelta(minutes=minutes))
        await tick(services)
    clock.set(START - timedelta(hours=1))  # the 1 h DMs
    await tick(services)
    clock.set(START + timedelta(minutes=5))  # the meeting started
    await tick(services)
    assert (await meeting_row(services, "2022-03-02")).status == "held"

    # The note-taker records the meeting and publishes the minutes.
    clock.set(START + timedelta(minutes=40))
    erin = members.member("erin")
    await ok(dispatcher, erin, '/notes add "Everyone agrees on one meeting" item=#1')
    await ok(dispatcher, erin, '/notes add "Merge the two meetings" item=#1 kind=decision')
    added = await ok(dispatcher, erin, '/notes add "Write the RFC" item=#2 owner=@dan')
    last_note = added.data["note"]["id"]
    published = await ok(dispatcher, erin, "/notes publish")
    assert published.ephemeral and published.data["posted"] is True
    assert published.text.startswith("The minutes of TVM Community Meeting")
    assert "#general" in published.text
    again = await ok(dispatcher, erin, "/notes publish")  # a retry, or a second click: nothing new to post
    assert again.data["posted"] is False and "already posted" in again.text
    await tick(services)
    clock.advance(timedelta(minutes=5))
    await ok(dispatcher, erin, '/notes add "Next week: the release" kind=note')
    republished = await ok(dispatcher, erin, "/notes publish")  # new notes: the new minutes are posted
    assert republished.data["posted"] is True
    await tick(services)
    await tick(services)

    mtg = f"mtg:{row.series_id}:2022-03-02:"
    expected = [
        (DEADLINE - timedelta(hours=2), "channel", "general", mtg + "agenda-closing"),
        (DEADLINE, "channel", "general", mtg + "announce"),
        (DEADLINE, "dm", "console:bob", mtg + "dm:console:bob:86400"),
        (DEADLINE, "dm", "console:erin", mtg + "dm:console:erin:86400"),
        (START - timedelta(hours=1), "dm", "console:bob", mtg + "dm:console:bob:3600"),
        (START - timedelta(hours=1), "dm", "console:dan", mtg + "dm:console:dan:3600"),
        (START - timedelta(hours=1), "dm", "console:erin", mtg + "dm:console:erin:3600"),
        (START + timedelta(minutes=40), "channel", "general", f"minutes:{row.id}:{last_note}"),
        (START + timedelta(minutes=45), "channel", "general", f"minutes:{row.id}:{last_note + 1}"),
    ]
    assert sends(notifier.sent) == expected
    notifier.assert_each_once()

    by_key = {m.key: m for _, m in notifier.sent}
    closing = by_key[mtg + "agenda-closing"].reply.text
    assert "closes at Tue 2022-03-01 08:00 PST" in closing and "2 items so far" in closing
    announce = by_key[mtg + "announce"].reply.as_plain_text()
    for part in ("TVM Community Meeting: the agenda is closed", "Wed 2022-03-02 08:00 PST (America/Los_Angeles)",
                 "16:00 UTC", "16:00 GMT (Europe/London)", "17:00 CET (Europe/Berlin)", "21:30 IST (Asia/Kolkata)",
                 "Thu 00:00 CST (Asia/Shanghai)", "Host: bob · Note-taker: erin",
                 "1. Unify meetings <https://discuss.tvm.apache.org/t/12171> (added by bob)",
                 "2. Relay VM <https://github.com/apache/tvm/issues/1> (added by dan)"):
        assert part in announce, part
    erin_24h = by_key[mtg + "dm:console:erin:86400"].reply.text
    assert "starts Wed 2022-03-02 21:30 IST (Asia/Kolkata) your time, Wed 2022-03-02 08:00 PST" in erin_24h
    assert "you take the notes" in erin_24h
    bob_1h = by_key[mtg + "dm:console:bob:3600"].reply.text
    assert "you are the host; your item #1 \"Unify meetings\" is on the agenda" in bob_1h
    dan_1h = by_key[mtg + "dm:console:dan:3600"].reply.text
    assert "17:00 CET (Europe/Berlin) your time" in dan_1h and "your item #2 \"Relay VM\"" in dan_1h
    assert "you are the host" not in dan_1h
    first = by_key[f"minutes:{row.id}:{last_note}"].reply
    assert first.kind == "minutes" and not first.ephemeral
    for part in ("## 1. Unify meetings", "Everyone agrees on one meeting", "Merge the two meetings",
                 "### dan", "- [ ] Write the RFC (item 2)"):
        assert part in first.text, part
    assert "Next week: the release" not in first.text
    assert "Next week: the release" in by_key[f"minutes:{row.id}:{last_note + 1}"].reply.text
    rows = await outbox_rows(services)
    assert {r.status for r in rows.values()} == {"sent"}


async def test_an_empty_agenda_week_is_cancelled_and_takes_no_turn(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = await start_season(dispatcher, services, members, clock)
    clock.set(DEADLINE - timedelta(hours=2))
    await tick(services)
    clock.set(DEADLINE)
    # A command that catches up fixing (as the console does) before the tick's deadline step: the meeting
    # whose agenda closed empty is not fixed, since it is about to be cancelled.
    await ok(dispatcher, members.member("zoe"), "/rotation join notes")
    assert await services.rotation.fix_due() == 0
    await tick(services)
    row = await meeting_row(services, "2022-03-02")
    assert (row.status, row.status_reason) == ("cancelled", "no agenda items")
    assert (row.host, row.note_taker, row.assigned_at) == (None, None, None)
    shown = await ok(dispatcher, members.member("zoe"), "/rotation show")
    rotation = shown.data["rotation"]
    assert {r["name"]: r["turns"] for r in rotation["rosters"]["host"]} == {"bob": 0, "carol": 0, "dan": 0}
    cancelled, nxt = rotation["upcoming"][:2]
    assert cancelled["key"] == "2022-03-02" and cancelled["cancelled"] is True and cancelled["host"] is None
    assert nxt["key"] == "2022-03-09" and nxt["fixed"] is False
    # The one who would have hosted the cancelled meeting hosts the next one.
    assert (nxt["host"], nxt["note_taker"]) == ("console:bob", "console:erin")

    # The next week has an item: its announcement names bob and erin.
    clock.set(utc(2022, 3, 8, 12, 0))
    await ok(dispatcher, members.member("carol"), '/agenda add "Relay VM" https://github.com/apache/tvm/issues/1')
    clock.set(utc(2022, 3, 8, 14, 0))
    await tick(services)
    clock.set(utc(2022, 3, 8, 16, 0))
    await tick(services)
    second = await meeting_row(services, "2022-03-09")
    assert (second.host, second.note_taker) == ("console:bob", "console:erin")

    mtg1 = f"mtg:{row.series_id}:2022-03-02:"
    mtg2 = f"mtg:{row.series_id}:2022-03-09:"
    assert sends(notifier.sent) == [
        (DEADLINE - timedelta(hours=2), "channel", "general", mtg1 + "agenda-closing"),
        (DEADLINE, "channel", "general", mtg1 + "announce"),
        (utc(2022, 3, 8, 14, 0), "channel", "general", mtg2 + "agenda-closing"),
        (utc(2022, 3, 8, 16, 0), "channel", "general", mtg2 + "announce"),
        (utc(2022, 3, 8, 16, 0), "dm", "console:bob", mtg2 + "dm:console:bob:86400"),
        (utc(2022, 3, 8, 16, 0), "dm", "console:erin", mtg2 + "dm:console:erin:86400"),
    ]
    notifier.assert_each_once()
    by_key = {m.key: m for _, m in notifier.sent}
    assert by_key[mtg1 + "announce"].reply.title == "No meeting this week: TVM Community Meeting"
    assert "Host: bob · Note-taker: erin" in by_key[mtg2 + "announce"].reply.text


async def test_rotation_messages_reach_the_member_concerned_once(
        dispatcher: Dispatcher, services: Services, members: Members, clock: ManualClock) -> None:
    notifier = await start_season(dispatcher, services, members, clock)
    proposed = await ok(dispatcher, members.member("bob"), "/rotation swap 2022-03-02 @carol")
    swap = proposed.data["swap"]["id"]
    retried = await ok(dispatcher, members.member("bob"), "/rotation swap 2022-03-02 @carol")
    assert retried.data["swap"]["id"] == swap  # the same offer, not a second one
    await tick(services)
    clock.advance(timedelta(minutes=10))
    await ok(dispatcher, members.member("carol"), f"/rotation accept #{swap}")
    twice = await run(dispatcher, members.member("carol"), f"/rotation accept #{swap}")
    assert not twice.ok
    await tick(services)
    clock.advance(timedelta(minutes=10))
    await ok(dispatcher, members.chair("alice"), "/rotation assign 2022-03-09 notes @erin")
    await ok(dispatcher, members.chair("alice"), "/rotation assign 2022-03-09 notes @erin")
    await tick(services)

    async with services.db.read() as session:
        series = await meetings_q.series_by_slug(session, "tvm", "community")
        assert series is not None and series.id is not None
        second = await meetings_q.meeting_by_key(session, series.id, "2022-03-09")
        assert second is not None
    t0 = utc(2022, 3, 1, 12, 0)
    assert sends(notifier.sent) == [
        (t0, "dm", "console:carol", f"rotation:swap:{swap}:proposed"),
        (t0 + timedelta(minutes=10), "dm", "console:bob", f"rotation:swap:{swap}:accepted"),
        (t0 + timedelta(minutes=20), "dm", "console:erin", f"rotation:assign:{second.id}:notes:console:erin"),
    ]
    by_target = {m.target: m for _, m in notifier.sent}
    asked = by_target["console:carol"]
    assert asked.fallback_channel == "general"
    assert f"Accept with /rotation accept #{swap}" in asked.reply.text
    assert "bob asks you to be host of TVM Community Meeting" in asked.reply.text
    assert "Wed 2022-03-02 08:00 PST (America/Los_Angeles) · 16:00 GMT (Europe/London)" in asked.reply.text
    assert "carol accepted your swap" in by_target["console:bob"].reply.text
    assigned = by_target["console:erin"].reply.text
    assert "alice (a chair) assigned you as note-taker" in assigned
    assert "Wed 2022-03-09 08:00 PST (America/Los_Angeles) · 21:30 IST (Asia/Kolkata)" in assigned
    notifier.assert_each_once()
