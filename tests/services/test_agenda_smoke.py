from __future__ import annotations

from bot.clock import ManualClock
from bot.commands.dispatcher import Dispatcher
from tests.helpers import SEED_SERIES, Members, ok, run


async def test_add_and_list_items_on_both_databases(dispatcher: Dispatcher, members: Members,
                                                    clock: ManualClock) -> None:
    await ok(dispatcher, members.chair(), SEED_SERIES)
    added = await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    assert added.data["item"]["position"] == 1
    listed = await ok(dispatcher, members.member("dan"), "/agenda list")
    assert [i["title"] for i in listed.data["meeting"]["agenda"]] == ["Unify meetings"]
    assert listed.data["meeting"]["starts_at"] == "2022-03-02T16:00:00Z"
    dup = await run(dispatcher, members.member("dan"), '/agenda add "Again" https://discuss.tvm.apache.org/t/12171/')
    assert not dup.ok and "already on this agenda" in dup.text
