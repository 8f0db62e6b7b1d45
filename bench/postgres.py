"""The benchmarks' PostgreSQL database: created when missing (``make bench`` on a fresh machine), then each
bench wipes and migrates it as it needs."""

from __future__ import annotations


async def ensure_database(url: str) -> None:
    """Create the database ``url`` names if the server does not have it yet (connecting to ``postgres``)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                  user=parsed.username or "postgres", password=parsed.password, database="postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
