# Live writers for the migration tests: an application's transactions run by pgbench (as the
# postgres OS user) against a server of tests/lib/servers.sh from before a migration to after it,
# stopped between transactions, their failures counted. Source it after servers.sh and checks.sh.
#
#   sf_writers_setup node                       # the app_control table (before a schema listing)
#   sf_writers_start app node -U app -c 5 -T 900 <<'SQL'
#   \set n random(1, 1000000)
#   SELECT app_write(:n);
#   SQL
#   ...                                          # the migration
#   sf_writers_stop app                          # between transactions; every backend gone
#   sf_check "no writer transaction failed" "0" "$(sf_writer_errors app)"
#
# Each group of writers has an ID: its script is $SF_WORK/ID.sql, pgbench's output $SF_WORK/ID.log,
# with -l every transaction's latency in $SF_WORK/ID.lat.*.

declare -gA SF_WRITERS_NODE SF_WRITERS_JOB

# sf_writers_setup NODE: the table the writers' scripts read before each transaction
# (app_control.stopped: 1 stops them), readable by every role. sf_writers_start makes it when it
# is missing; call this first where a listing of the schema is taken before the writers start.
sf_writers_setup() {
  sf_psql "$1" >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS app_control (stopped int NOT NULL);
INSERT INTO app_control SELECT 0 WHERE NOT EXISTS (SELECT FROM app_control);
GRANT SELECT ON app_control TO PUBLIC;
SQL
}

# sf_writers_start ID NODE [pgbench options...] <SCRIPT: pgbench in the background on NODE's
# database postgres, running the script on stdin (one transaction, or several, per run) until
# sf_writers_stop. Defaults (the options given override them): -U postgres -c 5 -j 1 -T 1800.
# With -l, latencies go to $SF_WORK/ID.lat.* (sf_writer_longest_ms).
sf_writers_start() {
  local id=$1 node=$2 script=$SF_WORK/$1.sql opt log=()
  shift 2
  for opt; do
    if [ "$opt" = -l ]; then log=(--log-prefix="$SF_WORK/$id.lat"); fi
  done
  [ "$(sf_psql "$node" -c "SELECT to_regclass('app_control') IS NOT NULL")" = t ] || sf_writers_setup "$node"
  {
    echo 'SELECT stopped FROM app_control \gset'
    echo '\if :stopped'
    echo '\sleep 50 ms'
    echo '\else'
    cat
    echo '\endif'
  } >"$script"
  chmod 644 "$script"
  # exec: the process id written is pgbench's own, which sf_writers_stop signals.
  sf_as_pg bash -c 'cd "$1" && echo $$ >"$2.pid" && shift 2 && exec pgbench "$@"' _ "$SF_WORK" "$SF_WORK/$id" \
    -n -h "$SF_WORK/$node" -U postgres -c 5 -j 1 -T 1800 "$@" "${log[@]}" -f "$script" postgres \
    >"$SF_WORK/$id.log" 2>&1 &
  SF_WRITERS_JOB[$id]=$!
  SF_WRITERS_NODE[$id]=$node
  local i
  for i in $(seq 1 100); do [ -s "$SF_WORK/$id.pid" ] && return 0; sleep 0.05; done
  sf_fail "writers $id did not start: $(cat "$SF_WORK/$id.log")"
}

# sf_writers_quiet NODE: every writer on NODE stops between two transactions, still connected:
# app_control.stopped = 1, then until no pgbench session is in a statement other than the poll.
sf_writers_quiet() {
  sf_psql "$1" -c "UPDATE app_control SET stopped = 1" >/dev/null
  sf_wait_until "$1" 60 "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pgbench'
                         AND state <> 'idle' AND query NOT LIKE 'SELECT stopped%'" ||
    sf_fail "the writers on $1 did not stop"
}

# sf_writers_running ID: true while the writers' pgbench runs.
sf_writers_running() { kill -0 "$(cat "$SF_WORK/$1.pid")" 2>/dev/null; }

# sf_writers_stop ID...: quiet, then pgbench ended (SIGTERM), and every backend it had is gone:
# nothing the writers did can change what is read after this.
sf_writers_stop() {
  local id node
  for id; do sf_writers_quiet "${SF_WRITERS_NODE[$id]}"; done
  for id; do
    kill -TERM "$(cat "$SF_WORK/$id.pid")" 2>/dev/null || true
    wait "${SF_WRITERS_JOB[$id]}" 2>/dev/null || true
  done
  for id; do
    node=${SF_WRITERS_NODE[$id]}
    sf_wait_until "$node" 60 "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pgbench'" ||
      sf_fail "the writers' sessions on $node did not end"
  done
}

# sf_writers_wait ID...: until pgbench ends by itself (-T or -t); its status is not checked (see
# sf_writer_errors).
sf_writers_wait() {
  local id
  for id; do wait "${SF_WRITERS_JOB[$id]}" 2>/dev/null || true; done
}

# sf_writer_errors ID...: how many lines of the writers' output report a failed transaction (an
# error, an aborted client, a deadlock); the first three go to stderr.
sf_writer_errors() {
  local logs=() id
  for id; do logs+=("$SF_WORK/$id.log"); done
  grep -ihE 'error|aborted|deadlock' "${logs[@]}" | head -3 | sed 's/^/    /' >&2 || true
  cat "${logs[@]}" | grep -ciE 'error|aborted|deadlock' || true
}

# sf_writer_transactions ID: how many transactions the writers' latency log (-l) records.
sf_writer_transactions() { cat "$SF_WORK/$1".lat.* 2>/dev/null | wc -l; }

# sf_writer_longest_ms ID: the longest transaction in the writers' latency log (-l), in ms.
sf_writer_longest_ms() {
  cat "$SF_WORK/$1".lat.* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { printf "%d", m / 1000 }'
}

# sf_lock_holder NODE NAME TABLE SECONDS: a session (application_name NAME) that reads TABLE in a
# transaction of SECONDS, in the background; returns once it holds its lock (job id in
# SF_HOLDER_JOB). It ends by itself, or: sf_psql NODE -c "SELECT pg_terminate_backend(...)".
sf_lock_holder() {
  PGAPPNAME=$2 sf_psql "$1" -c "BEGIN; SELECT count(*) FROM $3; SELECT pg_sleep($4); COMMIT;" >/dev/null 2>&1 &
  SF_HOLDER_JOB=$!
  sf_wait_until "$1" 30 "SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                         WHERE a.application_name = '$2' AND l.relation = '$3'::regclass AND l.granted)" ||
    sf_fail "the lock holder $2 did not take its lock on $3"
}
