"""Running the real ``quorum`` command as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

QuorumRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def quorum_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "QUORUM_"))}
    env["QUORUM_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'quorum.db'}"
    env["PYTHONTZPATH"] = ""
    env["QUORUM_CONFIG"] = str(tmp_path / "quorum.toml")
    (tmp_path / "quorum.toml").write_text('[roles.PMC]\nmembers = ["console:alice"]\n', encoding="utf-8")
    return env


@pytest.fixture
def quorum(quorum_env: dict[str, str], tmp_path: Path) -> QuorumRunner:
    def run(*args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True,
                                text=True, env=quorum_env, cwd=tmp_path, timeout=120)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run
