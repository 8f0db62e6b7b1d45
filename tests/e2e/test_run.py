"""`quorum run` with no platform tokens: answers /health/live (and its alias /healthz), then serves the
subscription page, says how to add Discord or Slack, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[str], deadline_s: float = 60) -> tuple[int, bytes]:
    """The first answer other than 503 (starting). Polls a real server process started by this test:
    this waits for start-up, not for time to pass."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if process.poll() is not None:
            raise AssertionError(f"quorum run exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                return exc.code, exc.read()
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"quorum run did not answer {url}")


def test_run_answers_live_then_serves_and_explains_adapters(quorum_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "run.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n\n[roles.PMC]\n', encoding="utf-8")
    env = {**quorum_env, "SLACK_SIGNING_SECRET": "only-half-of-slack-configured"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(config), "run"], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for path in ("/health/live", "/healthz"):
            status, body = wait_for(f"http://127.0.0.1:{port}{path}", process)
            assert status == 200 and json.loads(body) == {"ok": True}, path
        # Once migrated and built, the app serves the rest (503 until then).
        status, body = wait_for(f"http://127.0.0.1:{port}/", process)
        assert status == 200 and b"No public meeting series yet." in body
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Discord: off. Set DISCORD_TOKEN" in err
    assert "Slack: off. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in err
    assert "Shutting down." in err
    assert "only-half-of-slack-configured" not in err


def test_run_with_json_logs_writes_one_json_object_per_line(quorum_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "run.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")
    env = {**quorum_env, "QUORUM_LOG_FORMAT": "json", "SLACK_SIGNING_SECRET": "only-half-of-slack-configured"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(config), "run"], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    messages = [line["message"] for line in lines]
    assert any(message.startswith("Quorum is listening on") for message in messages)
    assert any(message.startswith("Discord: off. Set DISCORD_TOKEN") for message in messages)
    assert "only-half-of-slack-configured" not in err
