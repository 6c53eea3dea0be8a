#!/usr/bin/env bash
# Runs every test: GoogleTest (core), pg_regress (SQL surface), integration (real servers).
# Installs what it needs from Debian and installs the extension; run as root or with sudo.
# ONLY=unit|regress|integration runs one layer; ONLY=integration TESTS="a b" runs some integration tests.
# PostgreSQL: PG_CONFIG (default: the installed 15); PG_MAJORS="15 17 18" runs the suite on each
# major that scripts/postgres.sh provides (building it the first time) and sums them up.
if [ -n "${PG_MAJORS:-}" ]; then
  set -uo pipefail
  log=$(mktemp /tmp/snowflake-matrix.XXXXXX)
  all_passed=0
  all_failed=0
  for major in $PG_MAJORS; do
    echo "==== PostgreSQL $major"
    if pg_config=$(bash "$(dirname "$0")/../scripts/postgres.sh" "$major"); then
      SF_MATRIX_MAJORS=$PG_MAJORS PG_MAJORS='' PG_CONFIG=$pg_config SF_SUMMARY="PostgreSQL $major" bash "$0" 2>&1 |
        tee "$log"
      line=$(grep -E "^PostgreSQL $major: [0-9]+ passed, [0-9]+ failed$" "$log" | tail -1)
    else
      line=
    fi
    passed=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
    failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    # A run that died before its summary counts as one failure.
    [ -n "$line" ] || { failed=1; echo "PostgreSQL $major: no summary (failed)"; }
    all_passed=$((all_passed + ${passed:-0}))
    all_failed=$((all_failed + ${failed:-0}))
  done
  rm -f "$log"
  echo "all: $all_passed passed, $all_failed failed"
  [ "$all_failed" = 0 ] && [ "$all_passed" -gt 0 ]
  exit
fi
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/lib/servers.sh"
# PostgreSQL's programs run as postgres and fail in a directory that user cannot enter (a checkout
# under /root, say): work from /tmp; every path below is absolute.
cd /tmp
sf_install_deps
sf_build_install
sf_workdir

total_passed=0
total_failed=0
count() { total_passed=$((total_passed + $1)); total_failed=$((total_failed + $2)); }
wants() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if wants unit; then
  echo "== unit tests (GoogleTest)"
  out=$(make -C "$SF_ROOT" -s unittest PG_CONFIG="$PG_CONFIG" 2>&1) && status=0 || status=$?
  echo "$out" | grep -E '^\[  (PASSED|FAILED) |^\[  FAILED  \]' || true
  passed=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
  failed=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
  [ "$status" = 0 ] || { echo "$out" | tail -40; failed=${failed:-1}; }
  count "${passed:-0}" "${failed:-0}"
fi

if wants regress; then
  echo "== SQL tests (make installcheck: pg_regress, temporary instance, PostgreSQL $PG_MAJOR)"
  # pg_regress runs initdb, so it works in a directory the server user owns.
  mkdir -p "$SF_WORK/regress/tests"
  cp -r "$SF_ROOT/Makefile" "$SF_ROOT/snowflake.control" "$SF_ROOT/snowflake_coordination.control" "$SF_ROOT/sql" "$SF_ROOT/expected" "$SF_WORK/regress/"
  cp "$SF_ROOT/tests/regress.conf" "$SF_WORK/regress/tests/"
  chown -R "$(stat -c %U "$SF_WORK")" "$SF_WORK/regress"
  out=$(sf_as_pg make -C "$SF_WORK/regress" -s installcheck PG_CONFIG="$PG_CONFIG" 2>&1) && status=0 || status=$?
  echo "$out" | grep -E '^(ok|not ok|test|#)|tests (passed|failed)' || echo "$out" | tail -20
  failed=$(echo "$out" | grep -cE '^(not ok|test .* FAILED)|\.\.\. FAILED' || true)
  ran=$(echo "$out" | grep -cE '^(ok|not ok)|^test .* \.\.\. ' || true)
  if [ "$status" != 0 ]; then
    ls -la "$SF_WORK" "$SF_WORK/regress"
    cat "$SF_WORK/regress/regression.diffs" 2>/dev/null | head -80
    [ "$failed" -gt 0 ] || failed=1
  fi
  count $((ran - failed)) "$failed"
fi

if wants integration; then
  for t in ${TESTS:-$(ls "$SF_ROOT"/tests/integration/*.sh)}; do
    [ -f "$t" ] || t=$SF_ROOT/tests/integration/$t.sh
    echo "== integration: $(basename "$t")"
    started=$SECONDS
    out=$(bash "$t" 2>&1) && status=0 || status=$?
    echo "$out"
    echo "($(basename "$t") took $((SECONDS - started)) s)"  # CI has a time budget: see what spends it
    line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed$' | tail -1)
    passed=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
    failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    [ "$status" = 0 ] || [ "${failed:-0}" -gt 0 ] || failed=1  # a script that died counts as a failure
    count "${passed:-0}" "${failed:-0}"
  done
fi

echo "${SF_SUMMARY:-all}: $total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ] && [ "$total_passed" -gt 0 ]
