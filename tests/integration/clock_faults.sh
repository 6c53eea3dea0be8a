#!/usr/bin/env bash
# The no-duplicate promise under faults: clock steps, restarts and crashes with the clock behind,
# a frozen clock, a rollback tolerance, an unwritable mark. The server's clock is libfaketime's.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 9"
clock_env=$(sf_faketime_env node)
start() { sf_start node TZ=UTC $clock_env; }
start
sf_psql node -c "CREATE EXTENSION snowflake" -c "CREATE TABLE ids (id bigint PRIMARY KEY)"

take() { sf_psql node -c "INSERT INTO ids SELECT snowflake_next() FROM generate_series(1, ${1:-1000}) RETURNING 1" | wc -l; }
highest() { sf_psql node -c "SELECT max(id) FROM ids"; }
# An ID now must be above every ID taken so far (the table's primary key also refuses a repeat).
check_above_all() {
  local before after
  before=$(highest)
  after=$(sf_psql node -c "INSERT INTO ids VALUES (snowflake_next()) RETURNING id" 2>&1) || true
  if [[ "$after" =~ ^[0-9]+$ ]] && [ "$after" -gt "$before" ]; then sf_pass "$1"; else sf_fail "$1: $after not above $before"; fi
}
status() { sf_psql node -c "SELECT $1 FROM snowflake_status()"; }
# check_above_all, timing the new ID's statement alone (psql's \timing, without a connection's
# start-up, which takes a second or more on a loaded machine): sets waited_ms. With a clock step
# ($2), the same session takes an ID, steps the clock and times the next ID, so the clock has no
# time to catch up unseen.
timed_check_above_all() {
  local before out step=()
  before=$(highest)
  [ -n "${2:-}" ] && step=(-c "INSERT INTO ids VALUES (snowflake_next())" -c "\\! echo '$2' > $SF_WORK/node.faketime")
  out=$(sf_psql node "${step[@]}" -c '\timing on' -c "INSERT INTO ids VALUES (snowflake_next()) RETURNING id" 2>&1) || true
  waited_ms=$(echo "$out" | sed -n 's/^Time: \([0-9]*\).*/\1/p')
  out=$(echo "$out" | head -1)
  if [[ "$out" =~ ^[0-9]+$ ]] && [ "$out" -gt "$before" ] && [ "$out" = "$(highest)" ]; then
    sf_pass "$1"
  else
    sf_fail "$1: $out not above $before"
  fi
}
crash() {
  # SIGKILL of a backend: the postmaster kills the rest and reinitialises shared memory.
  local pid="" reinits
  reinits=$(grep -c "all server processes terminated; reinitializing" "$SF_WORK/node/server.log" || true)
  sf_psql node -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
  for _ in $(seq 50); do
    pid=$(sf_psql node -c "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")
    [ -n "$pid" ] && break
    sleep 0.1
  done
  kill -9 "$pid"
  for _ in $(seq 100); do
    if [ "$(grep -c "all server processes terminated; reinitializing" "$SF_WORK/node/server.log")" -gt "$reinits" ] &&
      sf_psql node -c "SELECT 1" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

echo "-- the clock steps back 5 s while running"
take 5000 >/dev/null
t0=$(date +%s%3N)
sf_set_clock node -5s
err=$(sf_error node "SELECT snowflake_next()")
# 5 s less the time the clock ran on since the last ID (a loaded machine takes a second or more).
since_ms=$(( $(date +%s%3N) - t0 + 200 ))
sf_check_match "a backward step fails at once with SF001" "ERROR: +SF001: clock moved backwards" "$err"
behind=$(echo "$err" | sed -n 's/.*The system clock is \([0-9]*\) ms behind.*/\1/p')
if [ -n "$behind" ] && [ "$behind" -le 5000 ] && [ "$behind" -ge $((5000 - since_ms)) ]; then
  sf_pass "... and says by how much ($behind ms)"
else
  sf_fail "... and says by how much: [$behind] not within $((5000 - since_ms))..5000 ms in [$err]"
fi
sf_check "... counted as a rollback error" "1" "$(status rollback_errors)"
sf_set_clock node +0
check_above_all "the clock back: IDs resume above every earlier one"

echo "-- a clean restart with the clock 10 s behind the last ID"
take 3000 >/dev/null
sf_stop node
sf_set_clock node -10s
start
sf_check_match "no ID at or below the last one: SF001" "ERROR: +SF001" "$(sf_error node "SELECT snowflake_next()")"
sf_set_clock node +0
check_above_all "the clock back: IDs above every ID before the restart"

echo "-- a crash (SIGKILL of a backend), then the clock 10 s behind"
take 3000 >/dev/null
if crash; then sf_pass "server reinitialised after SIGKILL"; else sf_fail "server did not come back after SIGKILL"; fi
sf_set_clock node -10s
sf_check_match "no ID at or below the last one after the crash: SF001" "ERROR: +SF001" "$(sf_error node "SELECT snowflake_next()")"
sf_set_clock node +0
check_above_all "the clock back: IDs above every ID before the crash"

echo "-- a crash with the clock right: the wait is at most one lease"
take 3000 >/dev/null
crash
timed_check_above_all "first ID after the crash is above every earlier one"
if [ "$waited_ms" -le 1500 ]; then sf_pass "first ID after the crash took ${waited_ms} ms (lease 1000 ms)"; else sf_fail "first ID after the crash took ${waited_ms} ms"; fi

echo "-- a frozen clock while more than 4096 IDs are asked in one statement"
# Frozen at a whole second 2-3 s ahead of the real clock (libfaketime takes whole seconds), so that
# the IDs before it, even on a loaded machine, are behind it.
frozen=$(date -u -d "@$(( $(date +%s) + 3 ))" '+%Y-%m-%d %H:%M:%S')
take 1 >/dev/null
sf_set_clock node "$frozen"
t0=$(date +%s%N)
sf_psql node -v VERBOSITY=verbose -c "SET snowflake.max_wait_ms = 500" \
  -c "SELECT count(snowflake_next()) FROM generate_series(1, 5000)" >"$SF_WORK/frozen_a.out" 2>&1 &
a=$!
sleep 0.2
b_out=$(SF_PSQL_TIMEOUT=10 sf_psql node -v VERBOSITY=verbose -c "SET snowflake.max_wait_ms = 500" -c "SELECT snowflake_next()" 2>&1) &&
  b_status=0 || b_status=$?
wait $a || true
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sf_check_match "the statement fails with SF002 after snowflake.max_wait_ms" "ERROR: +SF002: timed out waiting for the clock" \
  "$(cat "$SF_WORK/frozen_a.out")"
sf_check_match "... saying the sequence is used up and the clock stands still" "4096 IDs of the current millisecond are used" \
  "$(cat "$SF_WORK/frozen_a.out")"
if [ "$b_status" != 124 ] && [[ "$b_out" =~ SF002|^[0-9]+$ ]]; then
  sf_pass "a second session got an error or an ID, not an endless wait ($(echo "$b_out" | head -1))"
else
  sf_fail "second session: status $b_status, $b_out"
fi
if [ "$elapsed_ms" -lt 5000 ]; then sf_pass "both done in ${elapsed_ms} ms"; else sf_fail "took ${elapsed_ms} ms"; fi
sf_check_match "stalls are counted" "^[1-9]" "$(status stall_errors)"
err=$(SF_PSQL_TIMEOUT=10 sf_psql node -v VERBOSITY=verbose -c "SET snowflake.max_wait_ms = 60000" -c "SET statement_timeout = 300" \
  -c "SELECT count(snowflake_next()) FROM generate_series(1, 5000)" 2>&1 >/dev/null || true)
sf_check_match "statement_timeout interrupts the wait for a frozen clock" "ERROR: +57014: canceling statement due to statement timeout" "$err"
# Unfrozen, the real clock is up to 3 s behind the frozen one: a tolerance waits that out.
sf_psql node -c "ALTER SYSTEM SET snowflake.rollback_tolerance_ms = 4000" -c "ALTER SYSTEM SET snowflake.max_wait_ms = 5000" \
  -c "SELECT pg_reload_conf()" >/dev/null
sf_set_clock node +0
check_above_all "unfrozen, the generator is healthy: an ID above all earlier ones"

echo "-- rollback tolerance: a short step is waited out, a long one is still an error"
take 100 >/dev/null
timed_check_above_all "a 1 s step within the 4 s tolerance gives an ID above all earlier ones" -1s
if [ "$waited_ms" -ge 500 ]; then sf_pass "... after waiting ${waited_ms} ms for the clock"; else sf_fail "... without waiting (${waited_ms} ms)"; fi
sf_check_match "... counted as a rollback wait" "^[1-9]" "$(status rollback_waits)"
sf_set_clock node -60s
sf_check_match "a 60 s step beyond the tolerance fails with SF001" "ERROR: +SF001" "$(sf_error node "SELECT snowflake_next()")"
sf_set_clock node +0
sf_psql node -c "ALTER SYSTEM RESET snowflake.rollback_tolerance_ms" -c "ALTER SYSTEM RESET snowflake.max_wait_ms" \
  -c "SELECT pg_reload_conf()" >/dev/null

echo "-- an unwritable mark is an error, never an ID without a mark"
take 10 >/dev/null
mark_before=$(status durable_mark)
chmod 500 "$SF_WORK/node/pg_snowflake"
sf_set_clock node +10s   # past the durable mark: an ID now needs a new one on disk
err=$(sf_error node "SELECT snowflake_next()")
sf_check_match "SF003 when the mark cannot be written" "ERROR: +SF003: could not write the snowflake durable mark" "$err"
sf_check "the durable mark did not move" "$mark_before" "$(status durable_mark)"
sf_check_match "mark write errors are counted" "^[1-9]" "$(status mark_write_errors)"
chmod 700 "$SF_WORK/node/pg_snowflake"
check_above_all "writable again: IDs resume above all earlier ones"
# The clock stays 10 s ahead from here: stepping it back would be a rollback, tested above.

echo "-- a mark file that cannot be read blocks snowflake_next() until an operator decides"
sf_psql node -c "SELECT max(id) >> 22 FROM ids" >"$SF_WORK/highest_ms"
sf_stop node
echo "not a number" | sf_as_pg tee "$SF_WORK/node/pg_snowflake/mark" >/dev/null
start
sf_check_match "SF004 with a damaged mark" "ERROR: +SF004: could not read the snowflake durable mark" "$(sf_error node "SELECT snowflake_next()")"
sf_check_match "the start-up log warns" "WARNING: +snowflake: could not read the durable mark" "$(cat "$SF_WORK/node/server.log")"
sf_stop node
# The operator's repair, as the hint says: a millisecond known to be past every ID issued.
cat "$SF_WORK/highest_ms" | sf_as_pg tee "$SF_WORK/node/pg_snowflake/mark" >/dev/null
start
check_above_all "mark repaired by the operator: IDs resume above all earlier ones"

echo "-- no duplicates anywhere above"
sf_check "every ID taken is distinct" "$(sf_psql node -c "SELECT count(*) FROM ids")" "$(sf_psql node -c "SELECT count(DISTINCT id) FROM ids")"
sf_summary
