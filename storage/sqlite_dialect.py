"""SQLAlchemy's ``sqlite+aiosqlite`` dialect, taught that our driver (storage/sqlite_inline.py) runs most
statements at once on the event loop's thread.

SQLAlchemy's async adapter treats every driver call as something to wait for: each statement enters
the cursor, takes an ``asyncio.Lock`` and executes through ``await_``, each a switch between greenlets,
and a ``SAVEPOINT`` is a full statement execution. For a call that never waits that is pure overhead,
and at a few dozen microseconds per statement it was most of the cost of a command
(bench/commands.py). This dialect keeps everything of ``aiosqlite``'s except that:

- a statement that runs inline (see ``InlineCursor.runs_inline``) executes and fetches directly;
  ``BEGIN IMMEDIATE`` and ``COMMIT``, which may wait, still go through the adapter's ``await_``;
- ``SAVEPOINT``, ``RELEASE`` and ``ROLLBACK TO`` (group commit takes one per writer) go straight to
  the driver, where they cost what SQLite's page cache costs.

Because an inline statement never needs the greenlet, ``storage.queries.common.core_execute`` runs the
hottest statements on the synchronous connection directly (``executes_inline``).

Registered as ``sqlite+quorum_inline``; ``storage.db.create_engine`` chooses it for ``sqlite+aiosqlite``
URLs, so configuration keeps the standard URL.
"""

from __future__ import annotations

import collections
from typing import Any, cast

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

from storage.sqlite_inline import InlineConnection, InlineCursor

DRIVER = "quorum_inline"


class _InlineCursorAdapter(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        return cast(InlineConnection, connection).new_cursor()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor  # entering an InlineCursor does nothing: skip the await

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        cursor = cast(InlineCursor, self._cursor)
        if in_greenlet() or not cursor.runs_inline(operation):
            # Through the async API (which insists that a statement awaits), or a statement that may
            # wait: the adapter's own path.
            return super().execute(operation, parameters)
        try:
            cursor.execute_inline(operation, parameters)
            if cursor.description:
                self._rows = collections.deque(cursor.fetchall_inline())
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        return None

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        cursor = cast(InlineCursor, self._cursor)
        if in_greenlet() or not cursor.runs_inline(operation):
            return super().executemany(operation, seq_of_parameters)
        try:
            cursor.executemany_inline(operation, seq_of_parameters)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        return None

    def close(self) -> None:
        self._rows.clear()
        cast(InlineCursor, self._cursor).close_inline()


class _InlineConnectionAdapter(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _InlineCursorAdapter

    def rollback(self) -> None:
        # Inline in WAL mode (see InlineConnection.rollback): no await, so no greenlet needed.
        driver = cast(InlineConnection, self._connection)
        try:
            driver.rollback_inline()
        except Exception as error:
            self._handle_exception(error)


class _InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self.has_stop = True  # InlineConnection.stop() closes at once, whatever aiosqlite's version

    def connect(self, *arg: Any, **kw: Any) -> _InlineConnectionAdapter:
        creator = kw.pop("async_creator_fn", None)
        if creator is None:
            raise TypeError("sqlite+quorum_inline connects through storage.db.create_engine's async_creator")
        return _InlineConnectionAdapter(self, await_only(creator(*arg, **kw)))


def _driver(connection: Any) -> InlineConnection:
    driver = connection.connection.driver_connection
    assert isinstance(driver, InlineConnection)
    return driver


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    executes_inline = True  # see storage.queries.common.core_execute

    def __init__(self, begin_mode: str = "IMMEDIATE", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if begin_mode not in ("IMMEDIATE", "DEFERRED"):
            raise ValueError(f"begin_mode must be IMMEDIATE or DEFERRED, not {begin_mode!r}")
        self.begins_deferred = begin_mode == "DEFERRED"

    def do_begin(self, dbapi_connection: Any) -> None:
        # Straight to the driver (pysqlite's own do_begin leaves BEGIN to the driver, which we told not
        # to: storage.db's connect listener). Here, not in a "begin" event listener: any engine event
        # listener makes SQLAlchemy dispatch events around every statement.
        driver = dbapi_connection.driver_connection
        assert isinstance(driver, InlineConnection)
        if self.begins_deferred:
            driver.begin_read()
        else:
            await_only(driver.begin_write("BEGIN IMMEDIATE"))

    @classmethod
    def import_dbapi(cls) -> _InlineDBAPI:
        return _InlineDBAPI(__import__("aiosqlite"), __import__("sqlite3"))

    # Savepoint names are SQLAlchemy's own ("sa_savepoint_N"), never user input.
    def do_savepoint(self, connection: Any, name: str) -> None:
        _driver(connection).execute_inline(f"SAVEPOINT {name}")

    def do_release_savepoint(self, connection: Any, name: str) -> None:
        _driver(connection).execute_inline(f"RELEASE SAVEPOINT {name}")

    def do_rollback_to_savepoint(self, connection: Any, name: str) -> None:
        _driver(connection).execute_inline(f"ROLLBACK TO SAVEPOINT {name}")


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")
