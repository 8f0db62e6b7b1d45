"""Every benchmark of what members and operators feel, in one sitting, printed as one Markdown table.

Runs, one after the other (never two at once: they would measure each other), each as its own process:
- ``bench/commands.py``: members typing, a burst of vote clicks, event-loop lag beside an export and a
  verify, on SQLite and PostgreSQL;
- the growth cases, each small against large: ``bench/history.py`` (1 week vs 10 years of weekly
  meetings), ``bench/tick.py`` (1 vs 1,000 communities; an empty vs a 400k-row outbox),
  ``bench/ballots.py`` (1k vs 100k ballots), on SQLite and PostgreSQL; ``bench/startup.py`` (seconds to
  ``/health/live``; ``GET /`` at 1 vs 1,000 communities); ``bench/replicas.py`` (reminder lag and command
  throughput with 1 and 3 ``quorum run`` replicas on PostgreSQL).

Each script prints its own Markdown table; this one collects their rows under one header, with the
bench and the database in the first column, and repeats any script's failure as a row (a figure that
could not be measured is not a figure that was met).

Run: PYTHONPATH=. .venv/bin/python bench/report.py [--only commands,history,...] [--db sqlite,postgres]
PostgreSQL runs use QUORUM_BENCH_POSTGRES_URL (default: the local quorum_bench database, created if missing;
its schema is dropped and re-created by each bench).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.postgres import ensure_database

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/quorum_bench"
# (name, runs once per database?, extra arguments)
BENCHES: list[tuple[str, bool, list[str]]] = [
    ("commands", True, []),
    ("history", True, []),
    ("tick", True, []),
    ("ballots", True, []),
    ("startup", False, []),
    ("replicas", False, []),
]


def table_rows(output: str) -> list[list[str]]:
    """The body rows of every Markdown table in ``output`` (header and separator rows left out)."""
    rows: list[list[str]] = []
    lines = [line.strip() for line in output.splitlines()]
    for index, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if set(line.replace("|", "").strip()) <= set("-: ") or following.startswith("|---"):
            continue  # a separator, or the header above one
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def run(name: str, database: str | None, extra: list[str], postgres_url: str) -> tuple[list[list[str]], float]:
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *extra]
    if database is not None:
        command += ["--db", database]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONTZPATH": "", "QUORUM_BENCH_POSTGRES_URL": postgres_url}
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [[f"FAILED (exit {done.returncode}): {last}"]], seconds
    return table_rows(done.stdout), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(name for name, _, _ in BENCHES))
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args()
    postgres_url = os.environ.get("QUORUM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    if "postgres" in args.db.split(","):
        asyncio.run(ensure_database(postgres_url))
    wanted = set(args.only.split(","))
    databases = args.db.split(",")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; {os.cpu_count()} cores\n")
    print("| bench, database | figure | ... |")
    print("|---|---|---|")
    for name, per_database, extra in BENCHES:
        if name not in wanted:
            continue
        for database in (databases if per_database else [None]):
            if name == "commands" and database is not None:
                # commands.py prints one column per database: run it once with both.
                if database != databases[0]:
                    continue
                database = "both" if len(databases) > 1 else database
            rows, seconds = run(name, database, extra, postgres_url)
            label = f"{name}, {database}" if database else name
            print(f"| **{label}** ({seconds:.0f} s) | | |", flush=True)
            for row in rows:
                print("| | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
