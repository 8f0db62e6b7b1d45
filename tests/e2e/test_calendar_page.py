"""The subscription page in a real browser (headless Chromium) against the real server on a localhost
port, and ``quorum export --format ics`` writing the bytes the server serves."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from bot.app import build_services
from bot.clock import ManualClock, SystemClock
from bot.commands.dispatcher import Dispatcher
from bot.config import Settings, WebConfig
from bot.web.routes import build_web_app
from storage.db import Database
from tests.helpers import SEED_SERIES, Members, ok

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1200,1600"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def png_colours(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct byte values in the decoded pixel rows: a blank page has
    a handful, a rendered one many."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    return width, height, len(set(pixels))


async def test_page_renders_in_headless_chromium(settings: Settings, sqlite_url: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: apt-get install -y chromium (tests/prepare.sh does this when run as root)"
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    local_settings = Settings(database_url=sqlite_url, roles=settings.roles, web=WebConfig("127.0.0.1", port, public))
    db = Database(sqlite_url)
    clock = ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC))
    services = build_services(db, clock, local_settings)
    dispatcher = Dispatcher(services)
    members = Members(local_settings)
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    runner = web.AppRunner(build_web_app(services), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"{public}/calendar/community"
        shot = tmp_path / "page.png"
        profile = tmp_path / "profile"
        screenshot = await asyncio.create_subprocess_exec(
            chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        await asyncio.wait_for(screenshot.communicate(), timeout=90)
        dump = await asyncio.create_subprocess_exec(
            chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-dom", "--dump-dom", url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        dom, _ = await asyncio.wait_for(dump.communicate(), timeout=90)
    finally:
        await runner.cleanup()
        await db.dispose()
    html = dom.decode()
    for zone in ("UTC", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Shanghai"):
        assert f'href="webcal://127.0.0.1:{port}/calendar/community.ics?tz={zone}"' in html
        assert f'href="{public}/calendar/community.ics?tz={zone}"' in html
    assert f'href="webcal://127.0.0.1:{port}/calendar/community.ics"' in html
    assert "Unify meetings" in html and "Thu 00:00 CST (Asia/Shanghai)" in html
    data = shot.read_bytes()
    width, height, colours = png_colours(data)
    assert (width, height) == (1200, 1600)
    assert len(data) > 20_000 and colours > 50, (len(data), colours)
    if os.environ.get("KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["KEEP_SCREENSHOT"])


async def test_export_writes_the_bytes_the_server_serves(settings: Settings, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    services = build_services(db, ManualClock(datetime(2022, 3, 1, 12, tzinfo=UTC)), settings)
    dispatcher = Dispatcher(services)
    members = Members(settings)
    await ok(dispatcher, members.chair(), SEED_SERIES)
    await ok(dispatcher, members.member("bob"), '/agenda add "Unify meetings" https://discuss.tvm.apache.org/t/12171')
    # The CLI runs on the system clock; so does the server it is compared with.
    live = build_services(db, SystemClock(), settings)
    expected = {zone: (await live.calendar.feed("community", zone)).body for zone in (None, "Asia/Kolkata")}
    await db.dispose()
    env = {**os.environ, "QUORUM_DATABASE_URL": sqlite_url, "PYTHONTZPATH": ""}
    for zone, body in expected.items():
        args = [sys.executable, "-m", "bot.cli", "export", "--format", "ics", "--series", "community"]
        if zone:
            args += ["--tz", zone]
        code, out, err = await run_cli(args, env)
        assert code == 0, err.decode()
        assert out == body
    code, _, err = await run_cli([sys.executable, "-m", "bot.cli", "export", "--format", "ics", "--tz",
                                  "Mars/Olympus"], env)
    assert code == 1 and b"not a time zone" in err


async def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out, err
