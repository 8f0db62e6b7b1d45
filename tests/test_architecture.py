"""Checks on the shape of the code: layers, migrations matching the models, the command registry."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.migrate import upgrade_sync

ROOT = Path(__file__).resolve().parent.parent
IO_MODULES = ("sqlalchemy", "sqlmodel", "aiohttp", "discord", "slack_bolt", "slack_sdk", "apscheduler", "storage",
              "asyncpg", "aiosqlite", "icalendar")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_rules_import_no_io() -> None:
    for path in (ROOT / "bot" / "rules").rglob("*.py"):
        bad = {m for m in imports_of(path) if m.split(".")[0] in IO_MODULES or m.startswith("bot.services")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_adapters_do_not_touch_storage_and_platform_code_stays_in_adapters() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        modules = imports_of(path)
        relative = path.relative_to(ROOT)
        if relative.parts[1] == "adapters":
            assert not {m for m in modules if m.split(".")[0] in ("storage", "sqlalchemy", "sqlmodel")}, relative
        elif relative.name != "app.py":
            platform = {m for m in modules if m.split(".")[0] in ("discord", "slack_bolt", "slack_sdk")}
            assert not platform, f"{relative} imports platform code {platform}"


def test_sql_only_in_storage() -> None:
    for path in (ROOT / "bot").rglob("*.py"):
        modules = imports_of(path)
        allowed = path.name in ("app.py",) or path.parts[-2] == "services"
        if not allowed:
            sql = {m for m in modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel")}
            assert not sql, f"{path.relative_to(ROOT)} imports {sql}"


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

    for module in ("bot.services", "bot.services.outbox", "bot.notify", "bot.commands.reply", "bot.app", "bot.cli"):
        result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                                cwd=ROOT, timeout=60)
        assert result.returncode == 0, f"import {module} failed: {result.stderr[-500:]}"


def test_services_import_no_command_or_adapter_code() -> None:
    """Data flows one way: services may use the neutral ``Reply`` but nothing else of the layers above."""
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        above = {m for m in imports_of(path)
                 if m.startswith(("bot.adapters", "bot.commands")) and m != "bot.commands.reply"}
        assert not above, f"{path.relative_to(ROOT)} imports {above}"
