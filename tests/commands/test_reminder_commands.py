from __future__ import annotations

from bot.commands.dispatcher import Dispatcher
from bot.services import Services
from tests.helpers import SEED_SERIES, Members, ok, run


async def test_me_reminders_sets_offsets_and_off(dispatcher: Dispatcher, services: Services,
                                                 members: Members) -> None:
    bob = members.member("bob")
    reply = await ok(dispatcher, bob, "/me reminders 1h,24h,1h")
    assert reply.data["reminders"] == "1d,1h" and "1d and 1h before" in reply.text
    member = await services.members.get("tvm", "console:bob")
    assert member is not None and member.reminder_offsets == "1d,1h"
    reply = await ok(dispatcher, bob, "/me reminders off")
    assert reply.data["reminders"] == "off"
    member = await services.members.get("tvm", "console:bob")
    assert member is not None and member.reminder_offsets == "off"


async def test_me_reminders_refuses_bad_offsets_and_changes_nothing(dispatcher: Dispatcher, services: Services,
                                                                    members: Members) -> None:
    bob = members.member("bob")
    await ok(dispatcher, bob, "/me reminders 2h")
    for text, expected in (("/me reminders soon", "not a duration"), ("/me reminders 8d", "too long"),
                           ("/me reminders 1h,2h,3h,4h,5h", "At most 4")):
        reply = await run(dispatcher, bob, text)
        assert not reply.ok and expected in reply.text, reply.text
    member = await services.members.get("tvm", "console:bob")
    assert member is not None and member.reminder_offsets == "2h"


async def test_subscribe_and_unsubscribe(dispatcher: Dispatcher, members: Members) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    erin = members.member("erin")
    reply = await ok(dispatcher, erin, "/meeting subscribe")
    assert reply.data == {"subscribed": "community"}
    again = await run(dispatcher, erin, "/meeting subscribe community")
    assert not again.ok and "already subscribed" in again.text
    await ok(dispatcher, erin, "/meeting unsubscribe community")
    gone = await run(dispatcher, erin, "/meeting unsubscribe")
    assert not gone.ok and "not subscribed" in gone.text
    unknown = await run(dispatcher, erin, "/meeting subscribe nope")
    assert not unknown.ok and "no series 'nope'" in unknown.text
