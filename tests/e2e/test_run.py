"""`quorum run` with no platform tokens: serves /healthz, says how to add Discord or Slack, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(url: str, process: subprocess.Popen[str], deadline_s: float = 60) -> dict[str, object]:
    # Polls a real server process started by this test; this waits for start-up, not for time to pass.
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if process.poll() is not None:
            raise AssertionError(f"quorum run exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return dict(json.loads(response.read()))
        except OSError:
            time.sleep(0.1)
    raise AssertionError("quorum run did not answer /healthz")


def test_run_serves_healthz_and_explains_adapters(quorum_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "run.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n\n[roles.PMC]\n', encoding="utf-8")
    env = {**quorum_env, "SLACK_SIGNING_SECRET": "only-half-of-slack-configured"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "--config", str(config), "run"], env=env,
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}/healthz", process) == {"ok": True}
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
