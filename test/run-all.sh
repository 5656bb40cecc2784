#!/usr/bin/env bash
# `npm run test:all`: every test there is, as CI runs it (.ci/run is `npm ci` and this).
# First a canary proves the gate can go red (a test that must fail makes `npm test`
# exit non-zero); then `npm test` and the probes on the embedded PostgreSQL 18, both
# again against the machine's PostgreSQL 15, the benchmark's smoke run, the failover
# test on a local HA cluster and a migration deployed under load. Any failure, and any step that executed no
# test, stops it with exit 1. Nothing needs installing by hand (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

# The second server: Debian's PostgreSQL 15 on 127.0.0.1:5432 (trust auth).
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect 15 main start
fi
PG15=postgresql://postgres@127.0.0.1:5432/postgres

log=$(mktemp)
trap 'rm -f "$log"' EXIT
plain() { sed 's/\x1b\[[0-9;]*m//g' "$1"; }

echo "== canary: a test that must fail must make npm test exit non-zero"
if ALWRITY_TEST_CANARY=1 npm test >"$log" 2>&1; then
  plain "$log" | tail -n 30
  echo "CANARY FAILED: npm test exited 0 although a test failed; the gate cannot go red" >&2
  exit 1
fi
if ! plain "$log" | grep -qE '^ +Tests +1 failed'; then
  plain "$log" | tail -n 30
  echo "CANARY FAILED: npm test exited non-zero, but not because the canary test failed (see above)" >&2
  exit 1
fi
echo "canary: npm test failed as it must"

# Each step's vitest summary ("Tests  N passed (N)") is kept to print one plain
# closing line for all steps together.
passed=0
failed=0
step() {
  local name=$1 started line p f status
  shift
  echo "== $name"
  started=$SECONDS
  set +e
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  line=$(plain "$log" | grep -E '^ +Tests ' | tail -n 1 || true)
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
  echo "$name: ${p} passed, ${f} failed in $((SECONDS - started)) s (exit ${status})"
  if [ "$status" -ne 0 ] || [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then
    echo "$name: the step failed, counted failures or executed no test" >&2
    exit 1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
}
step "npm test, embedded PostgreSQL 18" npm test
step "probes, embedded PostgreSQL 18" npm run test:probes
step "npm test, PostgreSQL 15" env DATABASE_ADMIN_URL=$PG15 npm test
step "probes, PostgreSQL 15" env DATABASE_ADMIN_URL=$PG15 npm run test:probes
step "benchmark smoke run" npm run test:bench
# Failover on a high-availability cluster of its own (etcd, two Patroni members with
# Debian's PostgreSQL 15, HAProxy; docs/high-availability.md).
step "high availability" npm run test:ha
# A schema change deployed while eight users read and write a million-row table through
# the real API (docs/migrations.md, "Deploying while users work"): minutes, a step of its own.
step "deploy under load" npm run test:deploy
echo "${passed} passed, ${failed} failed"
