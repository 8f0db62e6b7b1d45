"""The deployment files, checked as far as a machine without a Docker engine can: the Dockerfile passes
hadolint, docker-compose.yml parses and wires Quorum to PostgreSQL with a readiness health check, and the
image's command and both health checks work against a real ``quorum run`` in this environment's venv."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.test_run import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SECRETS_READ = {"DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "QUORUM_METRICS_TOKEN",
                "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "DISCOURSE_API_KEY"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return loaded


def _dockerfile_healthcheck() -> list[str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", text, re.MULTILINE)
    assert found, "the Dockerfile has a HEALTHCHECK in JSON form"
    command: list[str] = yaml.safe_load(found.group(1))
    return command


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_quorum_on_postgres_once_it_is_healthy() -> None:
    compose = _compose()
    quorum, postgres = compose["services"]["quorum"], compose["services"]["postgres"]
    assert quorum["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    url = quorum["environment"]["QUORUM_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://quorum:") and url.endswith("@postgres:5432/quorum")
    assert "/health/ready" in " ".join(quorum["healthcheck"]["test"])
    assert {"postgres-data", "quorum-data"} <= set(compose["volumes"])
    passed = {name for name, value in quorum["environment"].items() if str(value).startswith("${")}
    assert passed - {"QUORUM_DATABASE_URL"} <= SECRETS_READ, "only variables Quorum reads are passed through"
    assert all(str(value).startswith("${") for name, value in quorum["environment"].items() if name in SECRETS_READ)
    # Every secret Quorum reads can be passed: none of forum, GitHub or the platforms is out of reach.
    assert set(quorum["environment"]) >= SECRETS_READ


def test_the_image_command_and_its_health_checks_work(quorum_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "quorum.toml"
    config.write_text(f'[web]\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")
    image_command = yaml.safe_load(re.findall(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(encoding="utf-8"),
                                              re.MULTILINE)[-1])
    assert image_command[0] == "quorum" and image_command[-1] == "run"
    command = [str(Path(sys.executable).parent / "quorum"), "--config", str(config), *image_command[3:]]
    checks = {"Dockerfile (live)": _dockerfile_healthcheck(),
              "compose (ready)": _compose()["services"]["quorum"]["healthcheck"]["test"][1:]}
    process = subprocess.Popen(command, env=quorum_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/health/ready", process)
        for name, check in checks.items():
            runnable = [sys.executable if part == "python" else part.replace(":8080/", f":{port}/") for part in check]
            result = subprocess.run(runnable, capture_output=True, text=True, timeout=30)
            assert result.returncode == 0, f"{name}: {result.stderr}"
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        down = subprocess.run([sys.executable if part == "python" else part.replace(":8080/", f":{port}/")
                               for part in checks["compose (ready)"]], capture_output=True, text=True, timeout=30)
        assert down.returncode != 0  # a stopped process is not ready
    finally:
        if process.poll() is None:
            process.kill()
