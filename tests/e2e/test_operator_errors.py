"""Start-up and operator errors through the real ``quorum`` command (subprocesses: the exit code and
standard error are what an operator sees): one sentence saying what is wrong and how to fix it, a
non-zero exit, no traceback; read-only commands never create a database; the default SQLite file does
not depend on the current directory."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import QuorumRunner


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    """The error, checked to be one line with no traceback and a non-zero exit."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_quorum(env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120, check=False)


def test_busy_port_is_one_sentence_with_port_flag_and_env(quorum_env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        by_flag = run_quorum(quorum_env, tmp_path, "run", "--port", str(port))
        by_env = run_quorum({**quorum_env, "QUORUM_PORT": str(port)}, tmp_path, "run")
    for result in (by_flag, by_env):
        # Only the error: run logs nothing before it listens, so stderr is that one line.
        line = one_sentence(result)
        assert f"Port {port} on 127.0.0.1 is already in use" in line
        assert "--port" in line and "QUORUM_PORT" in line


def test_run_listens_on_the_port_and_host_given(quorum_env: dict[str, str], tmp_path: Path) -> None:
    """--port wins over QUORUM_PORT, which wins over the file; --host is used as given."""
    wanted = free_port()
    env = {**quorum_env, "QUORUM_PORT": "1"}  # a port we may not use: the flag must win
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run", "--port", str(wanted), "--host", "127.0.0.1"],
                               env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from tests.e2e.test_run import wait_for

        status, _ = wait_for(f"http://127.0.0.1:{wanted}/health/live", process)
        assert status == 200
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_bad_port_flag_and_env_are_refused(quorum_env: dict[str, str], tmp_path: Path) -> None:
    flag = run_quorum(quorum_env, tmp_path, "run", "--port", "99999")
    assert flag.returncode == 2 and "'99999' is not a port" in flag.stderr and "Traceback" not in flag.stderr
    env = run_quorum({**quorum_env, "QUORUM_PORT": "http"}, tmp_path, "run")
    assert env.returncode == 2 and "QUORUM_PORT: 'http' is not a port" in env.stderr


def test_unreachable_postgres_is_one_sentence(quorum_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {**quorum_env, "QUORUM_DATABASE_URL": f"postgresql+asyncpg://quorum:hunter22@127.0.0.1:{port}/quorum"}
    for args in (("db", "upgrade"), ("console", "--workspace", "tvm", "--user", "alice"), ("verify",)):
        line = one_sentence(run_quorum(env, tmp_path, *args))
        assert f"nothing answers at 127.0.0.1:{port}" in line, line
        assert "hunter22" not in line  # the password is never shown
    unknown_host = {**quorum_env, "QUORUM_DATABASE_URL": "postgresql+asyncpg://postgres@no-such-host.invalid/quorum"}
    assert "host name no-such-host.invalid is not known" in one_sentence(run_quorum(unknown_host, tmp_path, "export"))


def test_run_with_unreachable_database_exits_with_one_sentence(quorum_env: dict[str, str], tmp_path: Path) -> None:
    """quorum run listens first (so /health/live answers), then fails on the database: it stops, and its
    last line is the sentence, with no traceback."""
    env = {**quorum_env, "QUORUM_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/quorum"}
    result = run_quorum(env, tmp_path, "run", "--port", str(free_port()))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Cannot reach the database" in result.stderr.strip().splitlines()[-1]


def test_missing_postgres_database_names_it(quorum_env: dict[str, str], tmp_path: Path) -> None:
    from tests.conftest import postgres_url

    url = postgres_url().rsplit("/", 1)[0] + "/quorum_no_such_database"
    line = one_sentence(run_quorum({**quorum_env, "QUORUM_DATABASE_URL": url}, tmp_path, "db", "upgrade"))
    assert line.startswith("The database quorum_no_such_database does not exist on"), line
    assert "createdb quorum_no_such_database" in line


def test_missing_folder_is_not_created(quorum_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "mistyped"
    env = {**quorum_env, "QUORUM_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'quorum.db'}"}
    for args in (("db", "upgrade"), ("console", "--workspace", "tvm", "--user", "alice"), ("run",)):
        line = one_sentence(run_quorum(env, tmp_path, *args, stdin="/meeting next\n"))
        assert f"The database folder {folder} does not exist" in line and "mkdir -p" in line
    assert not folder.exists()


def test_permission_denied_path_is_one_sentence(quorum_env: dict[str, str], tmp_path: Path) -> None:
    if os.geteuid() == 0:
        locked = Path("/proc/1")  # not writable even by root: root ignores a folder's mode bits
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
    env = {**quorum_env, "QUORUM_DATABASE_URL": f"sqlite+aiosqlite:///{locked / 'quorum.db'}"}
    line = one_sentence(run_quorum(env, tmp_path, "db", "upgrade"))
    assert line.startswith(f"Permission denied opening the database {locked / 'quorum.db'}"), line
    assert not (locked / "quorum.db").exists()


def test_read_only_commands_never_create_a_database(quorum_env: dict[str, str], tmp_path: Path) -> None:
    typo = tmp_path / "quorun.db"
    env = {**quorum_env, "QUORUM_DATABASE_URL": f"sqlite+aiosqlite:///{typo}"}
    for args in (("verify",), ("export", "--format", "json"), ("outbox",)):
        line = one_sentence(run_quorum(env, tmp_path, *args))
        assert line.startswith(f"There is no database at {typo}, so quorum {args[0]} has nothing to read"), line
    assert not typo.exists()
    # An existing file that holds no Quorum tables is not migrated into one either.
    empty = tmp_path / "empty.db"
    empty.touch()
    line = one_sentence(run_quorum({**env, "QUORUM_DATABASE_URL": f"sqlite+aiosqlite:///{empty}"}, tmp_path, "export"))
    assert "holds no Quorum data (no tables)" in line
    with sqlite3.connect(empty) as check:
        assert check.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_verify_on_a_database_without_votes_says_nothing_was_verified(quorum: QuorumRunner, quorum_env: dict[str, str],
                                                                     database_url: str, tmp_path: Path) -> None:
    quorum_env["QUORUM_DATABASE_URL"] = database_url
    line = one_sentence(quorum("verify", check=False))
    assert line.startswith("Nothing to verify: the database holds no votes"), line
    exported = quorum("export", "--format", "json").stdout
    (tmp_path / "export.json").write_text(exported, encoding="utf-8")
    from_file = one_sentence(quorum("verify", "--file", str(tmp_path / "export.json"), check=False))
    assert from_file.startswith(f"Nothing to verify: {tmp_path / 'export.json'} holds no votes"), from_file


def test_default_database_is_beside_the_config_not_in_the_current_directory(quorum_env: dict[str, str],
                                                                            tmp_path: Path) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    (config_dir / "quorum.toml").write_text("[roles.PMC]\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in quorum_env.items() if k != "QUORUM_DATABASE_URL"}
    env["QUORUM_CONFIG"] = str(config_dir / "quorum.toml")
    assert run_quorum(env, elsewhere, "db", "upgrade").returncode == 0
    assert (config_dir / "quorum.db").is_file() and not (elsewhere / "quorum.db").exists()
    # Run from another folder, a read-only command finds that same database.
    assert "holds no votes" in run_quorum(env, tmp_path, "verify").stderr
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    assert run_quorum({**env, "QUORUM_DATA_DIR": str(data_dir)}, elsewhere, "db", "upgrade").returncode == 0
    assert (data_dir / "quorum.db").is_file()
    missing = one_sentence(run_quorum({**env, "QUORUM_DATA_DIR": str(tmp_path / "nope")}, elsewhere, "db", "upgrade"))
    assert f"The database folder {tmp_path / 'nope'} does not exist" in missing


def test_config_that_is_not_utf8_is_one_sentence(quorum_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes('[web]\nport = 8080\n# réunion\n'.encode("latin-1"))
    checked = run_quorum(quorum_env, tmp_path, "--config", str(config), "check-config")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert checked.stdout == f"{config}: line 3: file: is not UTF-8 text (byte 22 cannot be read): " \
                             "save the file as UTF-8 and try again\n"
    ran = run_quorum(quorum_env, tmp_path, "--config", str(config), "console", "--workspace", "tvm", "--user", "a")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr and "is not UTF-8 text" in ran.stderr


@pytest.mark.parametrize("command", ["verify", "outbox"])
def test_read_only_commands_still_read_an_existing_database(quorum: QuorumRunner, command: str) -> None:
    """The console creates the database as before; the read-only commands then read it."""
    quorum("console", "--workspace", "tvm", "--user", "alice", stdin="/meeting list\n")
    result = quorum(command, check=False)
    assert "There is no database" not in result.stderr and "no Quorum data" not in result.stderr


def test_without_a_config_the_database_is_in_the_users_data_folder(quorum_env: dict[str, str], tmp_path: Path) -> None:
    """No config file and no QUORUM_DATA_DIR: Quorum's own folder ($XDG_DATA_HOME/quorum) is created for
    the database by the commands that create it, never by one that only reads."""
    env = {k: v for k, v in quorum_env.items() if k not in ("QUORUM_DATABASE_URL", "QUORUM_CONFIG")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    work = tmp_path / "work"
    work.mkdir()
    line = one_sentence(run_quorum(env, work, "outbox"))
    assert line.startswith(f"There is no database at {tmp_path / 'xdg' / 'quorum' / 'quorum.db'}")
    assert not (tmp_path / "xdg").exists()
    assert run_quorum(env, work, "db", "upgrade").returncode == 0
    assert (tmp_path / "xdg" / "quorum" / "quorum.db").is_file() and list(work.iterdir()) == []
