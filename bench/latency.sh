# Shared by the migration benchmarks (cutover.sh, widen.sh): their server, their five writers, and
# the latencies pgbench -l logged in $SF_WORK/all.log (client_id transaction_no latency_us
# script_no epoch_s epoch_us [lag_us]). Sourced after scripts/env.sh and tests/lib/servers.sh.
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
q() { sf_psql node -c "$1"; }

# bench_node: builds and installs the extension, starts a throwaway server "node" (machine id 7).
bench_node() {
  cd /tmp
  sf_install_deps
  sf_build_install
  sf_workdir
  sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7" "max_connections = 40" \
    "shared_buffers = 256MB" "max_wal_size = 4GB" "checkpoint_timeout = 30min"
  sf_start node
}

# bench_writers RATE: five pgbench writers running $SF_WORK/app.sql at RATE transactions/s in all,
# logging every transaction's latency; bench_stop_writers stops them and gathers the logs.
bench_writers() {
  chmod 644 "$SF_WORK/app.sql"
  mkdir -p "$SF_WORK/log" && chown postgres: "$SF_WORK/log"
  sf_as_pg bash -c 'cd "$1" && echo $$ > pgbench.pid && exec pgbench -n -h "$2" -U postgres -c 5 -j 1 -R "$3" -T 3600 -l -f "$4" postgres' \
    _ "$SF_WORK/log" "$SF_WORK/node" "$1" "$SF_WORK/app.sql" >"$SF_WORK/pgbench.out" 2>&1 &
  bench=$!
}
bench_stop_writers() {
  kill -TERM "$(cat "$SF_WORK/log/pgbench.pid")"  # pgbench itself (exec'd); a background job ignores SIGINT
  wait "$bench" 2>/dev/null || true
  sleep 1
  cat "$SF_WORK"/log/pgbench_log.* >"$SF_WORK/all.log"
}
now_us() { echo $(( $(date +%s%N) / 1000 )); }
window() {  # window FROM TO: latencies (ms) of transactions that overlapped [FROM, TO] (µs)
  awk -v f="$1" -v t="$2" '{ end = $5 * 1000000 + $6; beg = end - $3; if (end >= f && beg <= t) printf "%.3f\n", $3 / 1000 }' "$SF_WORK/all.log"
}
stats() {  # n p50 p99 max of the latencies on stdin
  sort -g | awk '{a[NR]=$1} END { if (NR == 0) { print "0 - - -"; exit }
    p50 = a[int((NR - 1) * 0.50) + 1]; p99 = a[int((NR - 1) * 0.99) + 1]; printf "%d %.1f %.1f %.1f\n", NR, p50, p99, a[NR] }'
}
