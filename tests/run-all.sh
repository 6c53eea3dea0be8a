#!/usr/bin/env bash
# Runs every test: GoogleTest (core), pg_regress (SQL surface), integration (real servers).
# Installs what it needs from Debian and installs the extension; run as root or with sudo.
# ONLY=unit|regress|integration runs one layer; ONLY=integration TESTS="a b" runs some integration tests.
source "$(dirname "$0")/../scripts/lib.sh"
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
  echo "== SQL tests (pg_regress, temporary instance)"
  # pg_regress runs initdb, so it works in a directory the server user owns.
  mkdir -p "$SF_WORK/regress"
  cp -r "$SF_ROOT/sql" "$SF_ROOT/expected" "$SF_ROOT/tests/regress.conf" "$SF_WORK/regress/"
  chown -R "$(stat -c %U "$SF_WORK")" "$SF_WORK/regress"
  tests=$(cd "$SF_ROOT/sql" && ls *.sql | grep -v -- '--' | sed 's/\.sql$//')
  out=$(cd "$SF_WORK/regress" && sf_as_pg "$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress" \
    --bindir="$PG_BIN" --temp-instance=./instance --temp-config=regress.conf \
    --inputdir=. --outputdir=. --dbname=contrib_regression $tests 2>&1) && status=0 || status=$?
  echo "$out" | grep -E '^(ok|not ok|test|#)|tests (passed|failed)' || echo "$out" | tail -20
  failed=$(echo "$out" | grep -cE '^(not ok|test .* FAILED)|\.\.\. FAILED' || true)
  ran=$(echo "$out" | grep -cE '^(ok|not ok)|^test .* \.\.\. ' || true)
  if [ "$status" != 0 ]; then
    cat "$SF_WORK/regress/regression.diffs" 2>/dev/null | head -80
    [ "$failed" -gt 0 ] || failed=1
  fi
  count $((ran - failed)) "$failed"
fi

if wants integration; then
  for t in ${TESTS:-$(ls "$SF_ROOT"/tests/integration/*.sh)}; do
    [ -f "$t" ] || t=$SF_ROOT/tests/integration/$t.sh
    echo "== integration: $(basename "$t")"
    out=$(bash "$t" 2>&1) && status=0 || status=$?
    echo "$out"
    line=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed$' | tail -1)
    passed=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p')
    failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
    [ "$status" = 0 ] || [ "${failed:-0}" -gt 0 ] || failed=1  # a script that died counts as a failure
    count "${passed:-0}" "${failed:-0}"
  done
fi

echo "all: $total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ] && [ "$total_passed" -gt 0 ]
