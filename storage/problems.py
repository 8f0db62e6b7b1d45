"""An operator's database problem in one sentence: what is wrong and how to fix it.

``quorum run``, ``db upgrade`` and the one-shot commands print this instead of a driver traceback when the
database cannot be reached or opened (a server that is down, a mistyped host or database name, a refused
password, a SQLite folder that does not exist or may not be written). Errors of any other kind are not
explained here: they are bugs, and keep their traceback."""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import safe_url

_FIX_URL = "fix QUORUM_DATABASE_URL or [database] url in the config"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).expanduser()


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver error SQLAlchemy wraps (``orig``), and what each was raised from."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def explain_database_error(error: BaseException, url: str) -> str | None:
    """One sentence for a database that cannot be reached or opened, else None."""
    causes = list(_causes(error))
    path = sqlite_file(url)
    if path is not None:
        return _explain_sqlite(causes, path)
    return _explain_postgres(causes, url)


def _explain_sqlite(causes: list[BaseException], path: Path) -> str | None:
    for cause in causes:
        text = str(cause).lower()
        if isinstance(cause, PermissionError) or "readonly database" in text or (
                isinstance(cause, sqlite3.OperationalError) and "unable to open database file" in text):
            return missing_sqlite_folder(path) or _sqlite_not_writable(path)
        if isinstance(cause, sqlite3.DatabaseError) and "file is not a database" in text:
            return (f"{path} is not a SQLite database (the file holds something else): point "
                    f"QUORUM_DATABASE_URL or [database] url at a Quorum database file.")
    return None


def missing_sqlite_folder(path: Path) -> str | None:
    """The sentence for a SQLite file whose folder does not exist (Quorum creates the file, never the
    folder: a mistyped folder would otherwise become a second, empty database), else None."""
    folder = path.absolute().parent
    if folder.is_dir():
        return None
    return (f"The database folder {folder} does not exist: create it (mkdir -p {folder}), or {_FIX_URL} "
            "or QUORUM_DATA_DIR.")


def sqlite_cannot_open(url: str) -> str | None:
    """Checked before SQLite is asked (its own error arrives late and noisily, from a worker thread): the
    sentence for a SQLite file that cannot be created or written, else None (and None for PostgreSQL)."""
    path = sqlite_file(url)
    if path is None:
        return None
    missing = missing_sqlite_folder(path)
    if missing is not None:
        return missing
    folder = path.absolute().parent
    # SQLite writes the -wal and -shm files beside the database, so the folder must be writable too.
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.R_OK | os.W_OK)):
        return _sqlite_not_writable(path)
    return None


def _sqlite_not_writable(path: Path) -> str:
    target = path if path.exists() else path.absolute().parent
    who = f"user {os.getuid()}" if hasattr(os, "getuid") else "this user"
    return (f"Permission denied opening the database {path}: give {who} read and write access to {target}, "
            f"or {_FIX_URL} or QUORUM_DATA_DIR.")


def _explain_postgres(causes: list[BaseException], url: str) -> str | None:
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    shown = safe_url(url)
    for cause in causes:
        name = type(cause).__name__
        if isinstance(cause, socket.gaierror):
            return (f"Cannot reach the database {shown}: the host name {parsed.host} is not known; "
                    f"{_FIX_URL}.")
        if isinstance(cause, ConnectionRefusedError) or (
                isinstance(cause, OSError) and cause.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH,
                                                               errno.ENETUNREACH)):
            return (f"Cannot reach the database {shown}: nothing answers at {where} ({_reason(cause)}); "
                    f"start PostgreSQL there, or {_FIX_URL}.")
        if isinstance(cause, TimeoutError):
            return (f"Cannot reach the database {shown}: {where} did not answer in time; check that PostgreSQL "
                    f"runs there and a firewall lets us in, or {_FIX_URL}.")
        if name == "InvalidCatalogNameError":
            return (f"The database {parsed.database} does not exist on {where}: create it (createdb "
                    f"{parsed.database}), or {_FIX_URL}.")
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return (f"PostgreSQL at {where} refused the user {parsed.username} ({cause}): check the user and "
                    f"password in QUORUM_DATABASE_URL or [database] url.")
    return None


def _reason(error: OSError) -> str:
    return os.strerror(error.errno).lower() if error.errno else "connection failed"


async def holds_quorum_tables(engine: AsyncEngine) -> bool:
    """Whether the database was ever migrated (it has Alembic's version table): the read-only commands
    refuse a database that holds nothing rather than create Quorum's tables in it."""
    async with engine.connect() as connection:
        return bool(await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")))
