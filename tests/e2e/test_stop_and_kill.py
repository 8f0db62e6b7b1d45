"""``quorum run`` (Slack in HTTP mode, against a fake Slack) loses no command it acknowledged: a SIGTERM waits
for the commands still running before it exits, a SIGKILL leaves them recorded and the restarted process
runs them, and every stop ends within 10 seconds whatever the platforms are doing. On both databases."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.fake_slack import FakeSlack, sign, slash_command_body
from tests.e2e.test_run import free_port

TEAM = "T0001"
CHAIR = "U0CHAIR1"
BOT_TOKEN = "xoxb-1234-secret-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SERIES = ('slug=community name="TVM Community Meeting" weekday=wed time=08:00 tz=America/Los_Angeles '
          "start=2031-01-01")
# Limits on how long the test waits for the processes (never how long it sleeps).
START_LIMIT = 60.0
STOP_LIMIT = 10.0


class Replica:
    """One ``quorum run`` process, its log read line by line as it is written."""

    def __init__(self, env: dict[str, str], config: Path, cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(config), "run"], env=env,
                                        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    async def until_logged(self, text: str, limit: float = START_LIMIT) -> None:
        async with asyncio.timeout(limit):
            while not any(text in line for line in self.lines):
                assert self.process.poll() is None or text in self.log(), f"exited early:\n{self.log()}"
                await asyncio.sleep(0.05)  # polling the other process's log

    async def stopped(self, limit: float) -> int:
        """Its exit code, once it has exited (within ``limit`` seconds)."""
        code = await asyncio.wait_for(asyncio.to_thread(self.process.wait), limit)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(TEAM)
    await fake.start()
    fake.add_user(CHAIR, "Alice", "America/Los_Angeles")
    fake.add_group("tvm-pmc", "S0PMC", CHAIR)
    yield fake
    await fake.close()


@pytest.fixture
def setup(quorum_env: dict[str, str], tmp_path: Path, database_url: str,
          fake_slack: FakeSlack) -> tuple[dict[str, str], Path, int]:
    port = free_port()
    config = tmp_path / "run.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n\n[roles.PMC]\nslack_usergroup = "tvm-pmc"\n',
                      encoding="utf-8")
    env = {**quorum_env, "QUORUM_DATABASE_URL": database_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.url("/api/")}
    return env, config, port


async def _post_command(port: int, fake: FakeSlack, text: str) -> int:
    body = slash_command_body("/meeting", text, team=TEAM, user=CHAIR, user_name="alice",
                              response_url=fake.url("/respond/1"), trigger_id="13345224609.1.abc")
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **sign(body, int(time.time()), SIGNING_SECRET)}
    async with aiohttp.ClientSession() as session, session.post(
            f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers) as response:
        return response.status


async def _ready(port: int, replica: Replica) -> None:
    async with asyncio.timeout(START_LIMIT), aiohttp.ClientSession() as session:
        while True:
            assert replica.process.poll() is None, f"exited early:\n{replica.log()}"
            try:
                async with session.get(f"http://127.0.0.1:{port}/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)  # polling the other process until it is up


async def _acknowledged_and_held(port: int, fake: FakeSlack) -> None:
    """A chair's /meeting series create, acknowledged by Quorum, then stuck: Slack's users.info (the first
    thing the command asks) does not answer until the test lets it."""
    fake.hold("users.info")
    assert await _post_command(port, fake, f"series create {SERIES}") == 200
    await fake.wait_for(lambda: len(fake.held) >= 1)


def _answers(fake: FakeSlack) -> list[str]:
    return [str(call.params.get("text", "")) for call in fake.responses]


async def test_sigterm_waits_for_acknowledged_commands_to_finish(setup: tuple[dict[str, str], Path, int],
                                                                 fake_slack: FakeSlack, tmp_path: Path) -> None:
    env, config, port = setup
    replica = Replica(env, config, tmp_path)
    try:
        await _ready(port, replica)
        await _acknowledged_and_held(port, fake_slack)
        replica.process.send_signal(signal.SIGTERM)
        await replica.until_logged("Shutting down.")
        fake_slack.holds["users.info"].set()  # Slack answers while the process is stopping
        assert await replica.stopped(STOP_LIMIT) == 0, replica.log()
    finally:
        replica.kill()
    (answer,) = _answers(fake_slack)
    assert "community" in answer and "TVM Community Meeting" in answer, answer
    assert "every acknowledged Slack request has run" in replica.log()


async def test_a_command_acknowledged_before_sigkill_runs_once_after_the_restart(
        setup: tuple[dict[str, str], Path, int], fake_slack: FakeSlack, tmp_path: Path) -> None:
    env, config, port = setup
    first = Replica(env, config, tmp_path)
    try:
        await _ready(port, first)
        await _acknowledged_and_held(port, fake_slack)
    finally:
        first.kill()  # SIGKILL: no chance to finish or to say anything
    fake_slack.holds["users.info"].set()
    assert _answers(fake_slack) == []

    restarted = Replica(env, config, tmp_path)  # the same replica (host and port), back
    try:
        await restarted.until_logged("Running Slack request slack:T0001:trigger:13345224609.1.abc again")
        await fake_slack.wait_for(lambda: len(fake_slack.responses) >= 1)
        # The retry Slack would send for the lost request is recognised as already handled.
        assert await _post_command(port, fake_slack, f"series create {SERIES}") == 200
        restarted.process.send_signal(signal.SIGTERM)
        assert await restarted.stopped(STOP_LIMIT) == 0, restarted.log()
    finally:
        restarted.kill()
    (answer,) = _answers(fake_slack)
    assert "community" in answer and "TVM Community Meeting" in answer, answer


async def test_a_stop_ends_within_ten_seconds_while_socket_mode_cannot_connect(
        setup: tuple[dict[str, str], Path, int], fake_slack: FakeSlack, tmp_path: Path) -> None:
    env, config, _ = setup
    for _ in range(100):  # Slack refuses the app token every time it is tried
        fake_slack.fail_next("apps.connections.open", 200, {"ok": False, "error": "invalid_auth"})
    replica = Replica({**env, "SLACK_APP_TOKEN": "xapp-1-refused-app-token"}, config, tmp_path)
    try:
        await replica.until_logged("Quorum is serving")
        await fake_slack.wait_for(lambda: len(fake_slack.of("apps.connections.open")) >= 1)
        replica.process.send_signal(signal.SIGTERM)
        assert await replica.stopped(STOP_LIMIT) == 0, replica.log()
    finally:
        replica.kill()
    assert "xapp-1-refused-app-token" not in replica.log()
