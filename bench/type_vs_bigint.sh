#!/usr/bin/env bash
# The column type snowflake against bigint, side by side in one run: bulk-insert time, primary-key
# index size and leaf density, an index range count, and json_agg of the whole table (where the
# type writes strings). Medians of REPS runs, the order of the two alternating per run; writes
# bench/type_results.md. Not a test: nothing here asserts a time.
#
#   bash bench/type_vs_bigint.sh                 # 5 runs of 2,000,000 rows
#   REPS=3 ROWS=500000 bash bench/type_vs_bigint.sh
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
BENCH=$SF_ROOT/bench
REPS=${REPS:-5} ROWS=${ROWS:-2000000}
COMMAND="${REPS:+REPS=$REPS }${ROWS:+ROWS=$ROWS }bash bench/type_vs_bigint.sh"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

sf_install_deps
log "building and installing snowflake into $("$PG_CONFIG" --pkglibdir)"
sf_build_install
SF_WORK=$(mktemp -d /tmp/snowflake-bench.XXXXXX)
chmod 755 "$SF_WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$SF_WORK"
trap sf_cleanup EXIT
sf_init bench "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1" "shared_buffers = 128MB" \
  "max_wal_size = 4GB" "min_wal_size = 1GB" "checkpoint_timeout = 30min" "wal_buffers = 16MB" "jit = off" "autovacuum = off"
sf_start bench
psql_() { sf_psql bench "$@"; }
psql_ -c "CREATE EXTENSION snowflake" -c "CREATE EXTENSION pgstattuple"
PG_VERSION=$(psql_ -c "SELECT version()")
log "server up: $PG_VERSION"

timed() {  # milliseconds of one statement, by psql's \timing
  local out
  out=$(printf '\\timing on\n%s\n' "$1" | psql_ 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

declare -A ins size dens tsize range json plan
for rep in $(seq "$REPS"); do
  order="bigint snowflake"
  [ $((rep % 2)) = 0 ] && order="snowflake bigint"
  for k in $order; do
    psql_ -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS t_$k" \
      -c "CREATE TABLE t_$k (id $k PRIMARY KEY DEFAULT snowflake_next(), v int)" -c "CHECKPOINT"
    ms=$(timed "INSERT INTO t_$k (v) SELECT g FROM generate_series(1, $ROWS) AS g")
    ins[$k]+="$ms "
    psql_ -c "VACUUM ANALYZE t_$k" -c "CHECKPOINT"
    IFS='|' read -r s d ts < <(psql_ -c "SELECT pg_relation_size('t_${k}_pkey'), avg_leaf_density, pg_relation_size('t_$k') FROM pgstatindex('t_${k}_pkey')")
    size[$k]=$s dens[$k]=$d tsize[$k]=$ts
    # The newest tenth of the rows through the index (index-only scan), with a bigint bound.
    mid=$(psql_ -c "SELECT id FROM t_$k ORDER BY id OFFSET $((ROWS * 9 / 10)) LIMIT 1")
    r=$(timed "SELECT count(*) FROM t_$k WHERE id >= ${mid}::bigint")
    plan[$k]=$(psql_ -c "EXPLAIN (COSTS OFF) SELECT count(*) FROM t_$k WHERE id >= ${mid}::bigint" | tr '\n' ' ' | sed 's/  */ /g')
    range[$k]+="$r "
    j=$(timed "SELECT length(json_agg(t)::text) FROM t_$k t")
    json[$k]+="$j "
    log "rep $rep: $k insert $ms ms, PK $((s / 1048576)) MB (leaf density $d%), heap $((ts / 1048576)) MB, range count $r ms, json_agg $j ms"
  done
done
psql_ -c "DROP TABLE t_bigint, t_snowflake"

# shellcheck disable=SC2086
{
  for k in bigint snowflake; do
    eval "m_ins_$k=$(median ${ins[$k]}) m_range_$k=$(median ${range[$k]}) m_json_$k=$(median ${json[$k]})"
  done
  echo "# The type snowflake against bigint"
  echo
  echo "Command: \`$COMMAND\` ($(date -u '+%Y-%m-%d %H:%M UTC'))  "
  echo "Server: $PG_VERSION; $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)); shared_buffers 128MB, fsync on.  "
  echo "Each run creates \`t_<type> (id <type> PRIMARY KEY DEFAULT snowflake_next(), v int)\` and inserts $ROWS rows"
  echo "in one statement; the two types alternate which goes first. Medians of $REPS runs; sizes are the"
  echo "same in every run. Plans of the range count: bigint \`${plan[bigint]}\`; snowflake \`${plan[snowflake]}\`."
  echo
  echo "| measure | bigint | snowflake | snowflake / bigint |"
  echo "|---|---|---|---|"
  echo "| bulk insert, ms (median) | $m_ins_bigint | $m_ins_snowflake | $(calc "$m_ins_snowflake / $m_ins_bigint") |"
  echo "| primary-key index, bytes | ${size[bigint]} | ${size[snowflake]} | $(calc "${size[snowflake]} / ${size[bigint]}" 4) |"
  echo "| index leaf density, % | ${dens[bigint]} | ${dens[snowflake]} | |"
  echo "| table, bytes | ${tsize[bigint]} | ${tsize[snowflake]} | $(calc "${tsize[snowflake]} / ${tsize[bigint]}" 4) |"
  echo "| index range count of the newest tenth (bigint bound), ms (median) | $m_range_bigint | $m_range_snowflake | $(calc "$m_range_snowflake / $m_range_bigint") |"
  echo "| \`json_agg\` of the table, ms (median) | $m_json_bigint | $m_json_snowflake | $(calc "$m_json_snowflake / $m_json_bigint") |"
  echo
  echo "Every run, ms:"
  echo
  for k in bigint snowflake; do
    echo "- $k: insert ${ins[$k]}; range ${range[$k]}; json_agg ${json[$k]}"
  done
} > "$BENCH/type_results.md"
log "wrote $BENCH/type_results.md"
cat "$BENCH/type_results.md"
