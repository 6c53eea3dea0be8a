# Test reporting for integration tests: each check is one line, counted for the summary that
# tests/run-all.sh reads. Source it; it sets `set -euo pipefail`.
set -euo pipefail

SF_PASSED=0
SF_FAILED=0
sf_pass() { SF_PASSED=$((SF_PASSED + 1)); echo "  ok   $*"; }
sf_fail() { SF_FAILED=$((SF_FAILED + 1)); echo "  FAIL $*"; }
# sf_check DESCRIPTION EXPECTED ACTUAL
sf_check() {
  if [ "$2" = "$3" ]; then sf_pass "$1"; else sf_fail "$1: expected [$2], got [$3]"; fi
}
# sf_check_match DESCRIPTION REGEX TEXT
sf_check_match() {
  if [[ "$3" =~ $2 ]]; then sf_pass "$1"; else sf_fail "$1: [$3] does not match /$2/"; fi
}
# Integration tests end with this; tests/run-all reads the line.
sf_summary() {
  echo "$(basename "$0"): $SF_PASSED passed, $SF_FAILED failed"
  [ "$SF_FAILED" = 0 ]
}

# sf_first_major_only: a heavy test that sees nothing that differs between PostgreSQL majors runs,
# in a matrix run (tests/run-all.sh with PG_MAJORS), on the first major only; on the others it
# says so, reports no check and exits.
sf_first_major_only() {
  local first=${SF_MATRIX_MAJORS:-}
  first=${first%% *}
  if [ -n "$first" ] && [ "$PG_MAJOR" != "$first" ]; then
    echo "$(basename "$0"): runs on PostgreSQL $first only in this matrix run"
    echo "$(basename "$0"): 0 passed, 0 failed"
    exit 0
  fi
}

# sf_check_lines DESCRIPTION EXPECTED ACTUAL: sf_check for listings (one entry a line); a mismatch
# names only the lines that differ (- expected, + actual).
sf_check_lines() {
  if [ "$2" = "$3" ]; then
    sf_pass "$1"
  else
    sf_fail "$1: $(diff <(echo "$2") <(echo "$3") | sed -n 's/^</ -/p; s/^>/ +/p' | tr '\n' ';')"
  fi
}
