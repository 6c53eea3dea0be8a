#!/usr/bin/env bash
# Every benchmark of issue 6 side by side in one run, against nextval() and gen_random_uuid() (and
# PostgreSQL 18's uuidv7()): medians of several repetitions, ratios and targets first; writes
# bench/results-pgMAJOR.md, bench/pgMAJOR.tsv and the charts (ids_per_second-pgMAJOR.png, ...).
#
#   bash bench/run.sh              # the full run on PostgreSQL 15 (about 20 minutes on 2 cores)
#   PG_MAJOR=18 bash bench/run.sh  # the same on PostgreSQL 18 (from scripts/postgres.sh), with uuidv7()
#   QUICK=1 bash bench/run.sh      # a short run to check the runner, figures not worth quoting
#   bash bench/compare.sh          # the side-by-side table of bench/pg15.tsv and bench/pg18.tsv
#
# PG_CONFIG=path/pg_config measures that PostgreSQL instead (its major version names the results).
# REPS=N repetitions (5; QUICK 2), LARGE_ROWS=N rows of the larger bulk insert (20,000,000),
# SF_BENCH_CONF="line;line" extra postgresql.conf lines (e.g. the durable mark's setting, if issue 3
# gives it one), BENCH_NOTE="text" a note for results.md (e.g. on machine load). Installs what it
# needs from Debian; copies PostgreSQL PG_MAJOR into its own directory under /tmp and builds and
# installs the extension there (nothing is installed into the system's or the shared cache's
# PostgreSQL); runs a throwaway server as the postgres OS user. Not a test: nothing here asserts a time.

# The PostgreSQL to measure: PG_CONFIG if given, else PG_MAJOR's from scripts/postgres.sh (else 15).
want_pg_config=${PG_CONFIG:-} want_major=${PG_MAJOR:-15}
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
BENCH=$SF_ROOT/bench
if [ -n "$want_pg_config" ]; then
  orig_pg_config=$want_pg_config
elif [ -f "$SF_ROOT/scripts/postgres.sh" ]; then
  orig_pg_config=$(bash "$SF_ROOT/scripts/postgres.sh" "$want_major")
elif [ "$want_major" = 15 ]; then
  orig_pg_config=/usr/lib/postgresql/15/bin/pg_config
else
  echo "bench: no scripts/postgres.sh to make PostgreSQL $want_major available; give PG_CONFIG" >&2
  exit 1
fi
PG_MAJOR=$("$orig_pg_config" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
how="PG_MAJOR=$PG_MAJOR"; [ -z "$want_pg_config" ] || how="PG_CONFIG=$want_pg_config"
COMMAND="$how ${QUICK:+QUICK=$QUICK }${REPS:+REPS=$REPS }${LARGE_ROWS:+LARGE_ROWS=$LARGE_ROWS }bash bench/run.sh"
# Results by version: results-pg15.md, results-pg18.md (bench/results.md is the quiet run of
# 2026-11-22 on 15 that docs/benchmarks.md's targets quote, from before there was more than one version).
SUFFIX=-pg$PG_MAJOR

if [ "${QUICK:-0}" = 1 ]; then
  REPS=${REPS:-2} SESSION_IDS=4000000 PGBENCH_SECONDS=3 BULK_ROWS=200000 LARGE_ROWS=${LARGE_ROWS:-2000000}
  LARGE_REPS=1 CORE_MIN_TIME=0.05
else
  REPS=${REPS:-5} SESSION_IDS=4000000 PGBENCH_SECONDS=10 BULK_ROWS=2000000 LARGE_ROWS=${LARGE_ROWS:-20000000}
  LARGE_REPS=${LARGE_REPS:-1} CORE_MIN_TIME=0.5
fi
SHARED_BUFFERS=128MB  # far smaller than the primary-key indexes of the larger bulk insert
CLIENTS=8

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

# Dependencies: the build and test ones, plus gnuplot for the charts and jq for Google Benchmark's JSON.
sf_install_deps
need=()
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  log "installing: ${need[*]}"
  apt-cache show "${need[@]}" >/dev/null 2>&1 || sf_sudo apt-get update -qq
  sf_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
make -C "$SF_ROOT" -s bench/build/core_bench PG_CONFIG="$PG_CONFIG"

# Like sf_workdir, under its own name: a 20-minute run should not share a prefix that test runs clean up.
SF_WORK=$(mktemp -d /tmp/snowflake-bench.XXXXXX)
chmod 755 "$SF_WORK"
[ "$(id -u)" = 0 ] && chown postgres: "$SF_WORK"
trap sf_cleanup EXIT

# PostgreSQL PG_MAJOR, copied with its directory layout under $SF_WORK/pg (it finds its files relative
# to its binaries), and the extension built from a copy of the working tree and installed there.
for opt in --bindir --pkglibdir --sharedir --includedir --includedir-server; do
  d=$("$orig_pg_config" "$opt")
  [ -d "$SF_WORK/pg$d" ] || { mkdir -p "$SF_WORK/pg$(dirname "$d")" && cp -a "$d" "$SF_WORK/pg$d"; }
done
PG_BIN=$SF_WORK/pg$("$orig_pg_config" --bindir)
PG_CONFIG=$PG_BIN/pg_config
export PATH="$PG_BIN:$PATH"
mkdir "$SF_WORK/src"
git -C "$SF_ROOT" ls-files -z --cached --others --exclude-standard |
  (cd "$SF_ROOT" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  tar -C "$SF_ROOT" --null -T - -cf - | tar -C "$SF_WORK/src" -xf -
log "building and installing snowflake into $("$PG_CONFIG" --pkglibdir)"
make -C "$SF_WORK/src" -s -j2 PG_CONFIG="$PG_CONFIG" >/dev/null
make -C "$SF_WORK/src" -s install PG_CONFIG="$PG_CONFIG" >/dev/null
conf=(
  "shared_preload_libraries = 'snowflake'"
  "snowflake.machine_id = 1"
  "shared_buffers = $SHARED_BUFFERS"
  "max_connections = 20"
  "max_wal_size = 4GB"
  "min_wal_size = 1GB"
  "checkpoint_timeout = 30min"
  "wal_buffers = 16MB"
  "jit = off"         # a JIT compile would add ~100 ms of noise to the 1-second queries
  "autovacuum = off"  # no vacuum of the bulk tables running under a later measurement
)
IFS=';' read -r -a extra <<<"${SF_BENCH_CONF:-}"
sf_init bench "${conf[@]}" ${extra[@]+"${extra[@]}"}
sf_start bench
DIR=$SF_WORK/bench
psql_() { sf_psql bench "$@"; }
psql_ -c "CREATE EXTENSION snowflake" -c "CREATE SEQUENCE s"
PG_VERSION=$(psql_ -c "SELECT version()")
PG_NUM=$(psql_ -c "SHOW server_version_num")
# contrib's pgstattuple where it exists (Debian's 15), to check bench/btree_stats.py against pgstatindex.
HAVE_PGSTATTUPLE=0
[ -f "$("$PG_CONFIG" --sharedir)/extension/pgstattuple.control" ] && psql_ -c "CREATE EXTENSION pgstattuple" && HAVE_PGSTATTUPLE=1
# PostgreSQL 18 makes version 7 uuids (time-ordered) itself: uuidv7() joins every measurement.
UUIDS="uuid"
[ "$PG_NUM" -ge 180000 ] && UUIDS="uuid uuid7"
SF_SETTINGS=$(psql_ -c "SELECT string_agg(name || ' = ' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name LIKE 'snowflake.%'")
log "server up: $PG_VERSION; $SF_SETTINGS"

# timed SQL: milliseconds of one statement, measured by psql's \timing.
timed() {
  local out
  out=$(printf '\\timing on\n%s\n' "$1" | psql_ 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

# pgbench_tps SCRIPT: transactions per second of $CLIENTS clients for PGBENCH_SECONDS.
pgbench_tps() {
  local f=$SF_WORK/script.sql out
  printf '%s\n' "$1" >"$f"
  chmod 644 "$f"
  out=$(sf_as_pg pgbench -h "$DIR" -U postgres -n -M prepared -c $CLIENTS -j 2 -T "$PGBENCH_SECONDS" -f "$f" postgres 2>&1) \
    || { echo "$out" >&2; return 1; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A R  # every figure, by name

# 1. One session: 4 M IDs in one SELECT, and the saturated rate read from the IDs themselves.
# "series" times generate_series alone (it is materialised before the first row is counted); the
# layout floor of the snowflake query is that time plus 4 M / 4096 ms = 976.6 ms.
declare -A one_ms
sat=() sat_mean=() sat_span=() sat_full=()
for rep in $(seq "$REPS"); do
  for g in snowflake nextval $UUIDS series count; do
    case $g in
      snowflake) q="SELECT count(snowflake_next()) FROM generate_series(1, $SESSION_IDS)" ;;
      nextval) q="SELECT count(nextval('s')) FROM generate_series(1, $SESSION_IDS)" ;;
      uuid) q="SELECT count(gen_random_uuid()) FROM generate_series(1, $SESSION_IDS)" ;;
      uuid7) q="SELECT count(uuidv7()) FROM generate_series(1, $SESSION_IDS)" ;;
      series) q="SELECT 1 FROM generate_series(1, $SESSION_IDS) LIMIT 1" ;;
      count) q="SELECT count(*) FROM generate_series(1, $SESSION_IDS)" ;;
    esac
    ms=$(timed "$q")
    one_ms[$g]+="$ms "
    log "1. one session, rep $rep: $g $ms ms"
  done
  # array_agg keeps the IDs as cheaply as count() drops them; they are decoded after the last one.
  # The target uses the median count per millisecond: a millisecond in which another process had
  # the CPU is not a saturated one; the mean and the rate over elapsed time are reported beside it.
  IFS='|' read -r median_ms per_ms per_span full < <(psql_ -c "
    WITH a AS MATERIALIZED (SELECT array_agg(snowflake_next()) AS ids FROM generate_series(1, $SESSION_IDS)),
    m AS (SELECT id >> 22 AS ms, count(*) AS n FROM a, unnest(a.ids) AS id GROUP BY 1),
    full_ms AS (SELECT * FROM m WHERE ms > (SELECT min(ms) FROM m) AND ms < (SELECT max(ms) FROM m))
    SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n), round(sum(n) / count(*), 1), round(sum(n) / (max(ms) - min(ms) + 1), 1),
           round(100.0 * count(*) FILTER (WHERE n = 4096) / count(*), 1)
    FROM full_ms")
  sat+=("$median_ms") sat_mean+=("$per_ms") sat_span+=("$per_span") sat_full+=("$full")
  log "1. saturated, rep $rep: median $median_ms, mean $per_ms IDs per ms used, $per_span IDs per elapsed ms, $full% of ms full"
done
for g in series count; do
  # shellcheck disable=SC2086
  R[one_$g]=$(median ${one_ms[$g]})
done
R[one_floor]=$(calc "${R[one_series]} + $SESSION_IDS / 4096" 1)
for g in snowflake nextval $UUIDS; do
  # shellcheck disable=SC2086
  R[one_$g]=$(median ${one_ms[$g]})
  R[one_${g}_ids]=$(calc "$SESSION_IDS / ${R[one_$g]} * 1000" 0)
done
R[sat]=$(median "${sat[@]}") R[sat_mean]=$(median "${sat_mean[@]}") R[sat_span]=$(median "${sat_span[@]}") R[sat_full]=$(median "${sat_full[@]}")

# 2. Eight clients, 1000 IDs per transaction: aggregate IDs per second.
declare -A many
for rep in $(seq "$REPS"); do
  for g in snowflake nextval $UUIDS; do
    case $g in
      snowflake) expr="snowflake_next()" ;;
      nextval) expr="nextval('s')" ;;
      uuid) expr="gen_random_uuid()" ;;
      uuid7) expr="uuidv7()" ;;
    esac
    tps=$(pgbench_tps "SELECT count($expr) FROM generate_series(1, 1000);")
    many[$g]+="$(calc "$tps * 1000" 0) "
    log "2. $CLIENTS clients x 1000 IDs/txn, rep $rep: $g $(calc "$tps * 1000" 0) IDs/s"
  done
done
# shellcheck disable=SC2086
for g in snowflake nextval $UUIDS; do R[many_$g]=$(median ${many[$g]}); done

# 3. Eight clients, one ID per transaction: TPS.
declare -A one_txn
for rep in $(seq "$REPS"); do
  for g in snowflake clock nextval $UUIDS; do
    case $g in
      snowflake) stmt="SELECT snowflake_next();" ;;
      clock) stmt="SELECT clock_timestamp();" ;;
      nextval) stmt="SELECT nextval('s');" ;;
      uuid) stmt="SELECT gen_random_uuid();" ;;
      uuid7) stmt="SELECT uuidv7();" ;;
    esac
    tps=$(pgbench_tps "$stmt")
    one_txn[$g]+="$tps "
    log "3. $CLIENTS clients x 1 ID/txn, rep $rep: $g $tps TPS"
  done
done
# shellcheck disable=SC2086
for g in snowflake clock nextval $UUIDS; do R[txn_$g]=$(calc "$(median ${one_txn[$g]})" 0); done

# 4. Bulk insert: time, primary-key index size and leaf density/fragmentation, WAL written.
# ff100 (the 2 M-row scale only, for information): the snowflake key with the index packed full,
# which ever-increasing keys allow (new entries only go to the rightmost leaf).
bulk() {  # bulk SCALE ROWS REPS KIND...
  local scale=$1 rows=$2 reps=$3 k rep col
  shift 3
  local kinds=("$@")
  declare -A t w
  for rep in $(seq "$reps"); do
    for k in "${kinds[@]}"; do
      case $k in
        snowflake) col="id bigint PRIMARY KEY DEFAULT snowflake_next()" ;;
        ff100) col="id bigint PRIMARY KEY WITH (fillfactor = 100) DEFAULT snowflake_next()" ;;
        bigserial) col="id bigserial PRIMARY KEY" ;;
        uuid) col="id uuid PRIMARY KEY DEFAULT gen_random_uuid()" ;;
        uuid7) col="id uuid PRIMARY KEY DEFAULT uuidv7()" ;;
      esac
      psql_ -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bulk_$k" -c "CREATE TABLE bulk_$k ($col, v int)" -c "CHECKPOINT"
      local lsn0
      lsn0=$(psql_ -c "SELECT pg_current_wal_lsn()")
      local ms
      ms=$(timed "INSERT INTO bulk_$k (v) SELECT g FROM generate_series(1, $rows) AS g")
      t[$k]+="$ms "
      w[$k]+="$(psql_ -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / 1048576.0, 1)") "
      # The index as this repetition left it (the same every time for ordered keys, close for random),
      # read from its files after a checkpoint (bench/btree_stats.py: pgstatindex's arithmetic).
      local size path leaves density frag
      psql_ -c "CHECKPOINT"
      size=$(psql_ -c "SELECT pg_relation_size('bulk_${k}_pkey')")
      path=$(psql_ -c "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('bulk_${k}_pkey')")
      IFS='|' read -r leaves density frag < <(sf_sudo "$PYTHON" "$BENCH/btree_stats.py" "$path")
      R[${scale}_${k}_size]=$size R[${scale}_${k}_density]=$density R[${scale}_${k}_frag]=$frag R[${scale}_${k}_leaves]=$leaves
      log "4. bulk $rows rows, rep $rep: $k $ms ms, index $((size / 1048576)) MB, $leaves leaf pages, leaf density $density%, fragmentation $frag%"
      if [ "$HAVE_PGSTATTUPLE" = 1 ]; then
        local check
        check=$(psql_ -c "SELECT leaf_pages || '|' || round(avg_leaf_density::numeric, 2) || '|' || round(leaf_fragmentation::numeric, 2) FROM pgstatindex('bulk_${k}_pkey')")
        PGSTAT_CHECKS+="$k $rows: btree_stats.py $leaves|$density|$frag, pgstatindex $check"$'\n'
        [ "$check" = "$leaves|$density|$frag" ] || PGSTAT_DIFFER=1
        log "   pgstatindex: $check"
      fi
      [ "$rep" = "$reps" ] && psql_ -c "DROP TABLE bulk_$k"
    done
  done
  for k in "${kinds[@]}"; do
    # shellcheck disable=SC2086
    R[${scale}_${k}_ms]=$(median ${t[$k]})
    # shellcheck disable=SC2086
    R[${scale}_${k}_wal]=$(median ${w[$k]})
    R[${scale}_${k}_mb]=$(calc "${R[${scale}_${k}_size]} / 1048576" 1)
  done
}
PGSTAT_CHECKS="" PGSTAT_DIFFER=0
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
# shellcheck disable=SC2086
bulk small "$BULK_ROWS" "$REPS" snowflake bigserial $UUIDS ff100
# shellcheck disable=SC2086
bulk large "$LARGE_ROWS" "$LARGE_REPS" snowflake bigserial $UUIDS

# 5. The core alone: Google Benchmark, medians of REPS repetitions.
log "5. core: Google Benchmark"
"$BENCH/build/core_bench" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
  --benchmark_min_time="$CORE_MIN_TIME" --benchmark_format=json --benchmark_out="$SF_WORK/core.json" \
  --benchmark_out_format=json >/dev/null 2>"$SF_WORK/core.err" || { cat "$SF_WORK/core.err" >&2; exit 1; }
core() {  # core NAME FIELD: the median of one benchmark's field
  jq -r --arg n "$1" --arg f "$2" \
    '.benchmarks[] | select(.run_name == $n and .aggregate_name == "median") | .[$f]' "$SF_WORK/core.json"
}
CORE_ROWS=""
while read -r name; do
  CORE_ROWS+="| \`$name\` | $(calc "$(core "$name" real_time)" 1) | $(calc "$(core "$name" cpu_time)" 1) | $(calc "$(core "$name" items_per_second) / 1e6" 1) |"$'\n'
done < <(jq -r '.benchmarks[] | select(.aggregate_name == "median") | .run_name' "$SF_WORK/core.json")
R[core_ns]=$(calc "$(core BM_NextNoWait cpu_time)" 1)
R[core_step_ns]=$(calc "$(core BM_StepInjectedClock cpu_time)" 1)
R[core_clock_ns]=$(calc "$(core BM_WallClockMillis cpu_time)" 1)

# Ratios and targets.
ratio() { calc "$1 / $2" 2; }
R[r_one_nextval]=$(ratio "${R[one_nextval]}" "${R[one_snowflake]}")  # time ratio = speed ratio
R[r_one_uuid]=$(ratio "${R[one_uuid]}" "${R[one_snowflake]}")
R[r_one_floor]=$(ratio "${R[one_floor]}" "${R[one_snowflake]}")  # 1.00 = at the layout's limit
R[r_one_nextval_best]=$(ratio "${R[one_nextval]}" "${R[one_floor]}")  # the best ratio the layout allows here
R[r_many_nextval]=$(ratio "${R[many_snowflake]}" "${R[many_nextval]}")
R[r_txn_clock]=$(ratio "${R[txn_snowflake]}" "${R[txn_clock]}")
R[r_txn_nextval]=$(ratio "${R[txn_snowflake]}" "${R[txn_nextval]}")
for s in small large; do
  R[r_${s}_time_serial]=$(ratio "${R[${s}_snowflake_ms]}" "${R[${s}_bigserial_ms]}")
  R[r_${s}_size_serial]=$(ratio "${R[${s}_snowflake_size]}" "${R[${s}_bigserial_size]}")
  R[r_${s}_time_uuid]=$(ratio "${R[${s}_snowflake_ms]}" "${R[${s}_uuid_ms]}")
  R[r_${s}_size_uuid]=$(ratio "${R[${s}_snowflake_size]}" "${R[${s}_uuid_size]}")
done
HAVE_UUID7=0
if [[ " $UUIDS " == *" uuid7 "* ]]; then
  HAVE_UUID7=1
  R[r_one_uuid7]=$(ratio "${R[one_uuid7]}" "${R[one_snowflake]}")
  R[r_many_uuid7]=$(ratio "${R[many_snowflake]}" "${R[many_uuid7]}")
  R[r_txn_uuid7]=$(ratio "${R[txn_snowflake]}" "${R[txn_uuid7]}")
  for s in small large; do
    R[r_${s}_time_uuid7]=$(ratio "${R[${s}_snowflake_ms]}" "${R[${s}_uuid7_ms]}")
    R[r_${s}_size_uuid7]=$(ratio "${R[${s}_snowflake_size]}" "${R[${s}_uuid7_size]}")
  done
fi
verdict() { awk "BEGIN {exit !($1)}" && echo pass || echo short; }
TARGETS=(
  "One session: saturated IDs per ms (median ms)|≥ 3900|${R[sat]}|$(verdict "${R[sat]} >= 3900")"
  "One session: speed vs nextval()|≥ 1.15x|${R[r_one_nextval]}x|$(verdict "${R[r_one_nextval]} >= 1.15")"
  "One session: speed vs gen_random_uuid()|≥ 4x|${R[r_one_uuid]}x|$(verdict "${R[r_one_uuid]} >= 4")"
  "$CLIENTS clients, 1000 IDs/txn: aggregate IDs/s|≥ 3.9 M|$(calc "${R[many_snowflake]} / 1e6" 2) M|$(verdict "${R[many_snowflake]} >= 3900000")"
  "$CLIENTS clients, 1 ID/txn: TPS vs clock_timestamp()|≥ 0.95x|${R[r_txn_clock]}x|$(verdict "${R[r_txn_clock]} >= 0.95")"
  "Bulk insert $BULK_ROWS rows: time vs bigserial|≤ 1.1x|${R[r_small_time_serial]}x|$(verdict "${R[r_small_time_serial]} <= 1.1")"
  "Bulk insert $BULK_ROWS rows: PK index size vs bigserial|within 2%|${R[r_small_size_serial]}x|$(verdict "${R[r_small_size_serial]} >= 0.98 && ${R[r_small_size_serial]} <= 1.02")"
  "Bulk insert $LARGE_ROWS rows: time vs uuid v4|≤ 0.5x|${R[r_large_time_uuid]}x|$(verdict "${R[r_large_time_uuid]} <= 0.5")"
  "Bulk insert $LARGE_ROWS rows: PK index size vs uuid v4|≤ 0.5x|${R[r_large_size_uuid]}x|$(verdict "${R[r_large_size_uuid]} <= 0.5")"
  "Core: ns per ID, single thread (clock read + step)|< 30|${R[core_ns]}|$(verdict "${R[core_ns]} < 30")"
)

echo
echo "== ratios (medians of $REPS; $LARGE_REPS at $LARGE_ROWS rows)"
echo "one session, $SESSION_IDS IDs: snowflake is ${R[r_one_nextval]}x nextval(), ${R[r_one_uuid]}x gen_random_uuid()"
echo "  (the layout's floor for that query here is ${R[one_floor]} ms; snowflake ran at ${R[r_one_floor]}x it; best ratio to nextval() allowed: ${R[r_one_nextval_best]}x)"
echo "$CLIENTS clients x 1000 IDs/txn: snowflake is ${R[r_many_nextval]}x nextval()"
echo "$CLIENTS clients x 1 ID/txn: snowflake is ${R[r_txn_clock]}x clock_timestamp(), ${R[r_txn_nextval]}x nextval()"
for s in small large; do
  rows=$BULK_ROWS; [ $s = large ] && rows=$LARGE_ROWS
  echo "bulk insert $rows rows: time ${R[r_${s}_time_serial]}x bigserial, ${R[r_${s}_time_uuid]}x uuid; PK index ${R[r_${s}_size_serial]}x bigserial, ${R[r_${s}_size_uuid]}x uuid"
  [ "$HAVE_UUID7" = 1 ] && echo "  vs uuidv7(): time ${R[r_${s}_time_uuid7]}x, PK index ${R[r_${s}_size_uuid7]}x"
done
[ "$HAVE_UUID7" = 1 ] && echo "uuidv7(): one session snowflake is ${R[r_one_uuid7]}x its speed; $CLIENTS x 1000 ${R[r_many_uuid7]}x; $CLIENTS x 1 ${R[r_txn_uuid7]}x"
echo "== targets"
for t in "${TARGETS[@]}"; do
  IFS='|' read -r what target got v <<<"$t"
  printf '%-5s  %-55s %-10s got %s\n' "$v" "$what" "$target" "$got"
done
echo "(why a target is short, and what would close it: bench/FINDINGS.md)"

# results.md and the charts.
MACHINE="$(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
m() { calc "$1 / 1e6" 2; }
# uuidv7() columns, on PostgreSQL 18 and later.
u7() { [ "$HAVE_UUID7" = 1 ] && printf ' %s |' "$@"; true; }
{
  echo "# Benchmark results"
  echo
  echo "Produced by \`$COMMAND\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit \`$(git -C "$SF_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`."
  echo
  echo "- Machine: $MACHINE"
  echo "- PostgreSQL: $PG_VERSION"
  echo "- Server: fsync on, synchronous_commit on, shared_buffers $SHARED_BUFFERS, max_wal_size 4GB, jit off, autovacuum off; $SF_SETTINGS${SF_BENCH_CONF:+; $SF_BENCH_CONF}"
  [ -n "${BENCH_NOTE:-}" ] && echo "- Note: $BENCH_NOTE"
  echo "- Medians of $REPS repetitions ($LARGE_REPS for the $LARGE_ROWS-row insert); pgbench runs $CLIENTS clients, 2 threads, prepared protocol, ${PGBENCH_SECONDS} s each."
  echo
  echo "## Targets"
  echo
  echo "| target | wanted | got | |"
  echo "|---|---|---|---|"
  for t in "${TARGETS[@]}"; do echo "| ${t//|/ | } |"; done
  echo
  echo "## Ratios"
  echo
  echo "| measurement | snowflake vs nextval() | vs gen_random_uuid() | vs clock_timestamp() |$(u7 "vs uuidv7()")"
  echo "|---|---|---|---|$(u7 ---)"
  echo "| one session, $SESSION_IDS IDs in one SELECT (speed) | ${R[r_one_nextval]}x | ${R[r_one_uuid]}x | |$(u7 "${R[r_one_uuid7]:-}x")"
  echo "| $CLIENTS clients, 1000 IDs per transaction (IDs/s) | ${R[r_many_nextval]}x | $(ratio "${R[many_snowflake]}" "${R[many_uuid]}")x | |$(u7 "${R[r_many_uuid7]:-}x")"
  echo "| $CLIENTS clients, 1 ID per transaction (TPS) | ${R[r_txn_nextval]}x | $(ratio "${R[txn_snowflake]}" "${R[txn_uuid]}")x | ${R[r_txn_clock]}x |$(u7 "${R[r_txn_uuid7]:-}x")"
  for s in small large; do
    rows=$BULK_ROWS; [ $s = large ] && rows=$LARGE_ROWS
    echo "| bulk insert $rows rows: time (lower is better) | ${R[r_${s}_time_serial]}x bigserial | ${R[r_${s}_time_uuid]}x | |$(u7 "${R[r_${s}_time_uuid7]:-}x")"
    echo "| bulk insert $rows rows: PK index size | ${R[r_${s}_size_serial]}x bigserial | ${R[r_${s}_size_uuid]}x | |$(u7 "${R[r_${s}_size_uuid7]:-}x")"
  done
  echo
  echo "## IDs per second"
  echo
  echo "| measurement | snowflake_next() | nextval('s') | gen_random_uuid() | clock_timestamp() |$(u7 "uuidv7()")"
  echo "|---|---|---|---|---|$(u7 ---)"
  echo "| one session, $SESSION_IDS in one SELECT: ms | ${R[one_snowflake]} | ${R[one_nextval]} | ${R[one_uuid]} | |$(u7 "${R[one_uuid7]:-}")"
  echo "| one session: M IDs/s | $(m "${R[one_snowflake_ids]}") | $(m "${R[one_nextval_ids]}") | $(m "${R[one_uuid_ids]}") | |$(u7 "$(m "${R[one_uuid7_ids]:-0}")")"
  echo "| $CLIENTS clients, 1000 IDs/txn: M IDs/s | $(m "${R[many_snowflake]}") | $(m "${R[many_nextval]}") | $(m "${R[many_uuid]}") | |$(u7 "$(m "${R[many_uuid7]:-0}")")"
  echo "| $CLIENTS clients, 1 ID/txn: TPS | ${R[txn_snowflake]} | ${R[txn_nextval]} | ${R[txn_uuid]} | ${R[txn_clock]} |$(u7 "${R[txn_uuid7]:-}")"
  echo
  echo
  echo "The same query with no generator: generate_series alone (materialised before the first row is counted)"
  echo "${R[one_series]} ms, with count(*) ${R[one_count]} ms. The layout's floor for the snowflake query is therefore"
  echo "${R[one_series]} + $SESSION_IDS / 4096 = ${R[one_floor]} ms: snowflake ran at ${R[r_one_floor]}x that floor's speed, and the best"
  echo "ratio to nextval() the layout allows on this machine is ${R[r_one_nextval_best]}x."
  echo
  echo "Saturated generator, read from the IDs of one session's $SESSION_IDS (first and last millisecond left out):"
  echo "median ${R[sat]} and mean ${R[sat_mean]} IDs per millisecond that issued any (limit 4096), ${R[sat_span]} IDs per elapsed"
  echo "millisecond (the mean and the elapsed rate fall when another process takes the CPU mid-millisecond);"
  echo "${R[sat_full]}% of those milliseconds used all 4096 sequence numbers."
  echo
  echo "## Bulk insert"
  echo
  echo "| rows | key | time ms | PK index MB | leaf density % | leaf fragmentation % | WAL MB |"
  echo "|---|---|---|---|---|---|---|"
  for s in small large; do
    rows=$BULK_ROWS; [ $s = large ] && rows=$LARGE_ROWS
    kinds="snowflake bigserial $UUIDS"; [ $s = small ] && kinds+=" ff100"
    for k in $kinds; do
      echo "| $rows | $k | ${R[${s}_${k}_ms]} | ${R[${s}_${k}_mb]} | ${R[${s}_${k}_density]} | ${R[${s}_${k}_frag]} | ${R[${s}_${k}_wal]} |"
    done
  done
  echo
  echo "Keys: uuid is \`gen_random_uuid()\` (version 4, random)$([ "$HAVE_UUID7" = 1 ] && echo ", uuid7 is \`uuidv7()\` (version 7, time-ordered)")."
  echo "Index sizes, leaf density and fragmentation are those of the last repetition; density and fragmentation"
  echo "are read from the index's files after a CHECKPOINT by \`bench/btree_stats.py\`, which does pgstatindex's arithmetic"
  if [ "$HAVE_PGSTATTUPLE" = 1 ]; then
    if [ "$PGSTAT_DIFFER" = 0 ]; then echo "(here pgstatindex gave the same leaf pages, density and fragmentation for every index)."
    else echo "(here pgstatindex differed: $(printf '%s' "$PGSTAT_CHECKS" | tr '\n' ';'))."; fi
  else
    echo "(this PostgreSQL has no contrib, so no pgstatindex to compare with)."
  fi
  echo
  echo "ff100 is the snowflake key with"
  echo "\`PRIMARY KEY WITH (fillfactor = 100)\`, which ever-increasing keys allow (for information: ${R[small_ff100_mb]} MB is"
  echo "$(ratio "${R[small_ff100_size]}" "${R[small_uuid_size]}")x uuid's index at $BULK_ROWS rows)."
  echo
  echo "## Core alone (Google Benchmark)"
  echo
  echo "\`NoWait\` variants rewind the state when a millisecond's 4096 are used, so each call is a full"
  echo "clock read + step (our code's cost); \`Wait\` spins for the next millisecond like the server"
  echo "(the layout's cap, 4.096 M/s). \`ClockOutside\` reads the clock before the lock, as \`snowflake_next()\` does."
  echo "Threaded runs share one state under one \`std::mutex\` (or one atomic word); items/s is the total of all threads,"
  echo "over Google Benchmark's mean per-thread time, which reads high when threads finish apart: the threaded"
  echo "\`Wait\` rows can show more than the 4.096 M/s no generator can exceed. Single-thread rows are exact."
  echo
  echo "| benchmark | ns per ID (real) | ns per ID (CPU) | M IDs/s |"
  echo "|---|---|---|---|"
  printf '%s' "$CORE_ROWS"
  echo
  echo "![IDs per second by generator](ids_per_second$SUFFIX.png)"
  echo "![primary-key index size by key kind](index_size$SUFFIX.png)"
} >"$BENCH/results$SUFFIX.md"

# Every figure by name, for bench/compare.sh (the side-by-side table of PostgreSQL versions).
{
  printf 'pg_version\t%s\n' "$PG_VERSION"
  printf 'command\t%s\n' "$COMMAND"
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'commit\t%s\n' "$(git -C "$SF_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'machine\t%s\n' "$MACHINE"
  printf 'bulk_rows\t%s\nlarge_rows\t%s\nreps\t%s\nclients\t%s\nsession_ids\t%s\n' "$BULK_ROWS" "$LARGE_ROWS" "$REPS" "$CLIENTS" "$SESSION_IDS"
  for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done | sort
} >"$BENCH/pg$PG_MAJOR.tsv"

cat >"$SF_WORK/ids.dat" <<EOF
# measurement snowflake nextval uuid (million IDs per second)
"1 session, 1 SELECT" $(m "${R[one_snowflake_ids]}") $(m "${R[one_nextval_ids]}") $(m "${R[one_uuid_ids]}")
"$CLIENTS clients x 1000/txn" $(m "${R[many_snowflake]}") $(m "${R[many_nextval]}") $(m "${R[many_uuid]}")
EOF
cat >"$SF_WORK/tps.dat" <<EOF
# measurement snowflake nextval uuid clock_timestamp (thousand transactions per second)
"$CLIENTS clients x 1/txn" $(calc "${R[txn_snowflake]} / 1000" 1) $(calc "${R[txn_nextval]} / 1000" 1) $(calc "${R[txn_uuid]} / 1000" 1) $(calc "${R[txn_clock]} / 1000" 1)
EOF
cat >"$SF_WORK/index.dat" <<EOF
# rows snowflake bigserial uuid (MB)
"$BULK_ROWS rows" ${R[small_snowflake_mb]} ${R[small_bigserial_mb]} ${R[small_uuid_mb]}
"$LARGE_ROWS rows" ${R[large_snowflake_mb]} ${R[large_bigserial_mb]} ${R[large_uuid_mb]}
EOF
gnuplot <<EOF
set terminal pngcairo size 1000,500 font ",10" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key below
set grid ytics
set yrange [0:*]
set output "$BENCH/ids_per_second$SUFFIX.png"
set multiplot title "IDs per second by generator: medians of $REPS, $(nproc) cores, PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}')"
set size 0.64,0.92; set origin 0,0
set ylabel "million IDs per second"
set yrange [0:4.6]
set xrange [-0.5:1.5]
set arrow from graph 0, first 4.096 to graph 1, first 4.096 nohead dashtype 2 lw 2 lc rgb "red" front
set label "layout limit: 4.096 M IDs/s" at graph 0.02, first 4.096 offset 0,0.8 tc rgb "red" front
plot "$SF_WORK/ids.dat" using 2:xtic(1) title "snowflake_next()", '' using 3 title "nextval()", \
     '' using 4 title "gen_random_uuid()"
unset arrow; unset label
set size 0.36,0.92; set origin 0.64,0
set ylabel "thousand transactions per second"
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set xrange [-0.5:0.5]
set key below maxrows 2
plot "$SF_WORK/tps.dat" using 2:xtic(1) title "snowflake_next()", '' using 3 title "nextval()", \
     '' using 4 title "gen_random_uuid()", '' using 5 title "clock_timestamp()"
unset multiplot
set output "$BENCH/index_size$SUFFIX.png"
set multiplot layout 1,2 title "Primary-key index size by key kind after a bulk insert (shared_buffers $SHARED_BUFFERS)"
set ylabel "MB"
do for [row=0:1] {
  plot "$SF_WORK/index.dat" every ::row::row using 2:xtic(1) title "bigint, snowflake_next()", \
       '' every ::row::row using 3 title "bigserial", '' every ::row::row using 4 title "uuid, gen_random_uuid()"
}
unset multiplot
EOF
log "wrote $BENCH/results$SUFFIX.md, pg$PG_MAJOR.tsv, ids_per_second$SUFFIX.png, index_size$SUFFIX.png"
