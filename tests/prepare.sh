#!/usr/bin/env bash
# Prepares what the test suite needs beyond Python packages: node packages for the calendar parser
# checks (when tests/js/package.json exists), Debian's Chromium for the calendar page test, and a
# PostgreSQL test database when one is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f tests/js/package.json ] && [ ! -d tests/js/node_modules ]; then
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi

# The calendar page test drives headless Chromium. Install it when missing and we may (root with apt);
# otherwise that test fails and says how to install it.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "Chromium is missing; installing Debian's chromium package for the calendar page test"
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null; }
fi

# Without QUORUM_TEST_POSTGRES_URL, use (and create) a local database when PostgreSQL is up, so the
# PostgreSQL half of the suite runs under `make test` too, not only in CI.
if [ -z "${QUORUM_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null 2>&1; then
  if psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='quorum_test'" \
      | grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -qc "create database quorum_test" >/dev/null
  fi
fi
