#!/usr/bin/env bash
# Prepares what the test suite needs beyond Python packages: node packages for the calendar parser
# checks (when tests/js/package.json exists) and a PostgreSQL test database when one is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f tests/js/package.json ] && [ ! -d tests/js/node_modules ]; then
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi

# Without QUORUM_TEST_POSTGRES_URL, use (and create) a local database when PostgreSQL is up, so the
# PostgreSQL half of the suite runs under `make test` too, not only in CI.
if [ -z "${QUORUM_TEST_POSTGRES_URL:-}" ] && command -v psql >/dev/null 2>&1; then
  if psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='quorum_test'" \
      | grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -qc "create database quorum_test" >/dev/null
  fi
fi
