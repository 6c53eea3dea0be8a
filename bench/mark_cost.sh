#!/usr/bin/env bash
# What logging the durable mark in the WAL costs: the same measurements on two builds, side by side in one
# run, repetitions interleaved so that both see the same machine load. Writes bench/mark_cost.md.
#
#   BUILDS="before=/tmp/pg-a/usr/lib/postgresql/15/bin after=/tmp/pg-b/usr/lib/postgresql/15/bin" bash bench/mark_cost.sh
#
# Each bin directory is a relocated PostgreSQL (docs/development.md) with one build of snowflake installed
# (e.g. main's and this branch's). REPS=N repetitions (5), PGBENCH_SECONDS=N (10). Not a test.
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
REPS=${REPS:-5} PGBENCH_SECONDS=${PGBENCH_SECONDS:-10} SESSION_IDS=4000000 CLIENTS=8
read -r -a builds <<<"${BUILDS:?BUILDS=\"name=bin_dir name=bin_dir\"}"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
sf_workdir
cd /tmp

declare -A sat per_span many txn records
load=$(uptime | sed 's/.*load average: //')
for rep in $(seq "$REPS"); do
  for b in "${builds[@]}"; do
    name=${b%%=*} bin=${b#*=}
    PATH="$bin:$PATH"
    [ -d "$SF_WORK/$name" ] || sf_init "$name" "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1" \
      "shared_buffers = 128MB" "max_connections = 20" "max_wal_size = 4GB" "checkpoint_timeout = 30min" "jit = off"
    sf_start "$name"
    sf_psql "$name" -c "CREATE EXTENSION IF NOT EXISTS snowflake" -c "CREATE EXTENSION IF NOT EXISTS pg_walinspect"
    start_lsn=$(sf_psql "$name" -c "SELECT pg_current_wal_flush_lsn()")
    # One session saturated: the median count of IDs per millisecond (bench/run.sh, section 1).
    IFS='|' read -r median_ms span < <(sf_psql "$name" -c "
      WITH a AS MATERIALIZED (SELECT array_agg(snowflake_next()) AS ids FROM generate_series(1, $SESSION_IDS)),
      m AS (SELECT id >> 22 AS ms, count(*) AS n FROM a, unnest(a.ids) AS id GROUP BY 1),
      full_ms AS (SELECT * FROM m WHERE ms > (SELECT min(ms) FROM m) AND ms < (SELECT max(ms) FROM m))
      SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n), round(sum(n) / (max(ms) - min(ms) + 1), 1) FROM full_ms")
    n_records=0  # pg_walinspect refuses a start at the flush point: a build that logs nothing
    [ "$(sf_psql "$name" -c "SELECT pg_current_wal_flush_lsn() > '$start_lsn'")" = t ] &&
      n_records=$(sf_psql "$name" -c "SELECT count(*) FROM pg_get_wal_records_info('$start_lsn', pg_current_wal_flush_lsn())
        WHERE resource_manager = 'snowflake'")
    sat[$name]+="$median_ms " per_span[$name]+="$span " records[$name]+="$n_records "
    f=$SF_WORK/script.sql
    for kind in many txn; do
      if [ $kind = many ]; then echo "SELECT count(snowflake_next()) FROM generate_series(1, 1000);" >"$f"; else
        echo "SELECT snowflake_next();" >"$f"; fi
      chmod 644 "$f"
      tps=$(sf_as_pg pgbench -h "$SF_WORK/$name" -U postgres -n -M prepared -c $CLIENTS -j 2 -T "$PGBENCH_SECONDS" -f "$f" postgres 2>&1 |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
      if [ $kind = many ]; then many[$name]+="$(awk "BEGIN {printf \"%.0f\", $tps * 1000}") "; else txn[$name]+="$tps "; fi
    done
    log "rep $rep $name: saturated median $median_ms IDs/ms ($span per elapsed ms, $n_records mark records in the WAL); $CLIENTS clients: $(echo ${many[$name]} | awk '{print $NF}') IDs/s, $(echo ${txn[$name]} | awk '{print $NF}') TPS"
    sf_stop "$name"
  done
done

{
  echo "# The cost of the mark in the WAL"
  echo
  echo "\`BUILDS=\"${BUILDS}\" REPS=$REPS PGBENCH_SECONDS=$PGBENCH_SECONDS bash bench/mark_cost.sh\`, $(date -u +%Y-%m-%d),"
  echo "$(nproc) cores, load average at the start $load (other work shares the machine); medians of $REPS"
  echo "interleaved repetitions; TPS rounded."
  echo
  echo "| build | saturated IDs per ms (median ms) | IDs per elapsed ms | mark records per 4 M IDs | $CLIENTS clients × 1000 IDs/txn, IDs/s | $CLIENTS clients × 1 ID/txn, TPS |"
  echo "|---|---|---|---|---|---|"
  for b in "${builds[@]}"; do
    name=${b%%=*}
    # shellcheck disable=SC2086
    echo "| $name | $(median ${sat[$name]}) | $(median ${per_span[$name]}) | $(median ${records[$name]}) | $(median ${many[$name]}) | $(printf '%.0f' "$(median ${txn[$name]})") |"
  done
  echo
  echo "Raw: $(for b in "${builds[@]}"; do n=${b%%=*}; echo "$n saturated [${sat[$n]% }], IDs/s [${many[$n]% }], TPS [${txn[$n]% }];"; done)"
} | tee "$SF_ROOT/bench/mark_cost.md"
