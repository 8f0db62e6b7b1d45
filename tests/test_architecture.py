"""Checks on the shape of the code: layers, migrations matching the models, the command registry."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.migrate import upgrade_sync

ROOT = Path(__file__).resolve().parent.parent


def test_layer_contracts_hold() -> None:
    """The layer contracts of pyproject.toml ([tool.importlinter]): rules import no I/O, services no
    commands or adapters, adapters no storage, only storage imports SQLAlchemy, platform SDKs stay in
    their adapters, and the Discord and Slack adapters do not import each other."""
    import subprocess
    import sys

    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]


def test_layer_contracts_name_every_package() -> None:
    """A package missing from the layers contract would be checked by nothing: every package under bot/
    is in it."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layers = next(c["layers"] for c in config["contracts"] if c["type"] == "layers")
    named = {part.strip() for layer in layers for part in layer.replace(":", "|").split("|")}
    packages = {f"bot.{p.stem}" for p in (ROOT / "bot").iterdir()
                if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert packages <= named, f"not in any layer: {sorted(packages - named)}"


def test_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    upgrade_sync(url)
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_every_module_imports_on_its_own() -> None:
    """No import cycle: each package can be the first thing a process imports."""
    import subprocess
    import sys

    for module in (
        "bot.services", "bot.services.outbox", "bot.contracts.outbound", "bot.contracts.reply", "bot.app", "bot.cli",
    ):
        result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                                cwd=ROOT, timeout=60)
        assert result.returncode == 0, f"import {module} failed: {result.stderr[-500:]}"
