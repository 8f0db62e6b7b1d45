"""Start-up imports the bot in a worker thread while the event loop already answers HTTP: nothing the
loop runs meanwhile may import the bot (it would stall ``/health/live`` and race the worker's imports),
and what the running bot imports lazily is imported by the worker first. Each check runs in a fresh
interpreter, where nothing is imported yet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STARTING = """
import asyncio, sys
from aiohttp.test_utils import TestClient, TestServer
from bot.web.routes import build_web_app

async def main():
    async with TestClient(TestServer(build_web_app(slack_http=True))) as client:
        before = set(sys.modules)
        for method, path in (("GET", "/"), ("GET", "/calendar/community.ics"), ("GET", "/calendar/community"),
                             ("POST", "/slack/events")):
            assert (await client.request(method, path)).status == 503, path
        print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("bot", "storage", "alembic")))

asyncio.run(main())
"""

IMPORTED = """
import sys
from bot.config import Settings
from bot.run import _import_bot

_import_bot(Settings(database_url="sqlite+aiosqlite:///unused.db"))
print(sorted(m for m in ("bot.web.calendar", "storage.migrate", "alembic") if m in sys.modules))
"""


def _run(script: str) -> str:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_routes_answering_503_during_start_up_import_nothing_of_the_bot() -> None:
    assert _run(STARTING) == "[]"


def test_start_up_worker_imports_what_the_loop_would_otherwise_import_later() -> None:
    assert _run(IMPORTED) == "['alembic', 'bot.web.calendar', 'storage.migrate']"
