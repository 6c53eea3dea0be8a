#!/usr/bin/env bash
# What snowflake_guard_replicated() costs per row, for narrow and wide rows: the same INSERT ... SELECT
# applied as replicated rows (session_replication_role = replica, as the apply worker does) into a
# table without the guard, with it (C, since 1.1), and with the PL/pgSQL guard of 1.0
# (bench/guard_plpgsql_1.0.sql). Medians of REPS runs; writes bench/guard.md. Not a test.
#
#   bash bench/guard.sh            # PG_CONFIG=... for another or a private PostgreSQL (docs/development.md)
source "$(dirname "$0")/../scripts/env.sh"
source "$(dirname "$0")/../tests/lib/servers.sh"
source "$(dirname "$0")/../tests/lib/checks.sh"
BENCH=$SF_ROOT/bench
REPS=${REPS:-5}
NARROW_ROWS=${NARROW_ROWS:-200000}
MANY_ROWS=${MANY_ROWS:-100000}
WIDE_ROWS=${WIDE_ROWS:-50}
COMMAND="${REPS:+REPS=$REPS }bash bench/guard.sh"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

cd /tmp
sf_install_deps
sf_build_install
sf_workdir
sf_init bench "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 42" "shared_buffers = 256MB" \
  "synchronous_commit = off" "max_wal_size = 4GB"
sf_start bench
cp "$BENCH/guard_plpgsql_1.0.sql" "$SF_WORK/guard_plpgsql.sql" && chmod 644 "$SF_WORK/guard_plpgsql.sql"
sf_psql bench -c "CREATE EXTENSION snowflake" -f "$SF_WORK/guard_plpgsql.sql"

# Source rows, made once: IDs of machine 41 (they pass the guard of machine 42). The 1 MB payloads
# are random and stored without compression, so that the wide rows measure moving 1 MB, not pglz.
cols=$(for i in $(seq 1 49); do printf 'c%02d integer, ' "$i"; done)
vals=$(for i in $(seq 1 49); do printf 'g AS c%02d, ' "$i"; done)
sf_psql bench <<SQL
CREATE TABLE src_narrow AS SELECT snowflake_compose(timestamptz '2024-06-01+00' + g * interval '1 ms', 41, 0) AS id, 'row ' || g AS note
  FROM generate_series(1, $NARROW_ROWS) g;
CREATE TABLE src_many AS SELECT $vals snowflake_compose(timestamptz '2024-06-01+00' + g * interval '1 ms', 41, 0) AS id
  FROM generate_series(1, $MANY_ROWS) g;
CREATE TABLE src_wide (id bigint, payload bytea);
ALTER TABLE src_wide ALTER payload SET STORAGE EXTERNAL;
INSERT INTO src_wide SELECT snowflake_compose(timestamptz '2024-06-01+00' + g * interval '1 ms', 41, 0) AS id,
  (SELECT decode(string_agg(md5(random()::text || i), ''), 'hex') FROM generate_series(1, 65536) i) AS payload
  FROM generate_series(1, $WIDE_ROWS) g;
SQL
declare -A shape_cols=([narrow]="id bigint, note text" [many]="${cols}id bigint" [wide]="id bigint, payload bytea")
declare -A shape_rows=([narrow]=$NARROW_ROWS [many]=$MANY_ROWS [wide]=$WIDE_ROWS)
declare -A shape_what=([narrow]="2 columns (bigint, short text)" [many]="50 columns, the key last (49 integers, bigint)"
  [wide]="2 columns (bigint, 1 MB bytea, stored uncompressed)")
for shape in narrow many wide; do
  for guard in none c plpgsql; do
    t=${shape}_$guard
    sf_psql bench -c "CREATE UNLOGGED TABLE $t (${shape_cols[$shape]})"
    [ "$shape" = wide ] && sf_psql bench -c "ALTER TABLE $t ALTER payload SET STORAGE EXTERNAL"
    case $guard in
      c) sf_psql bench -c "CREATE TRIGGER g BEFORE INSERT OR UPDATE ON $t FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated()" \
           -c "ALTER TABLE $t ENABLE REPLICA TRIGGER g" ;;
      plpgsql) sf_psql bench -c "CREATE TRIGGER g BEFORE INSERT OR UPDATE ON $t FOR EACH ROW EXECUTE FUNCTION bench_guard_plpgsql()" \
           -c "ALTER TABLE $t ENABLE REPLICA TRIGGER g" ;;
    esac
  done
done

# One timed INSERT ... SELECT as replicated rows, in ms (psql's \timing of the statement alone).
timed_insert() {
  sf_psql bench -c "TRUNCATE $1" -c "CHECKPOINT" >/dev/null
  sf_as_pg psql -h "$SF_WORK/bench" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 \
    -c "SET session_replication_role = replica" -c '\timing on' -c "INSERT INTO $1 SELECT * FROM src_$2" |
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
declare -A R
RAW=""
# The variants take turns within each repetition, so that a change in the machine's load hits all three.
for shape in narrow many wide; do
  timed_insert "${shape}_none" "$shape" >/dev/null  # warm the caches
  declare -A times=([none]="" [c]="" [plpgsql]="")
  for rep in $(seq 1 "$REPS"); do
    for guard in none c plpgsql; do times[$guard]+="$(timed_insert "${shape}_$guard" "$shape") "; done
  done
  for guard in none c plpgsql; do
    R[${shape}_$guard]=$(median ${times[$guard]})
    log "$shape $guard: ${times[$guard]}ms, median ${R[${shape}_$guard]}"
    RAW+="| $shape | $guard | ${times[$guard]}|"$'\n'
  done
  sf_check "$shape: every row stored by each variant" "${shape_rows[$shape]}|${shape_rows[$shape]}|${shape_rows[$shape]}" \
    "$(sf_psql bench -c "SELECT (SELECT count(*) FROM ${shape}_none), (SELECT count(*) FROM ${shape}_c), (SELECT count(*) FROM ${shape}_plpgsql)")" >&2
done

MACHINE="$(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(. /etc/os-release && echo "$PRETTY_NAME"), $("$PG_BIN/postgres" --version)"
{
  echo "# Cost of the collision guard per row"
  echo
  echo "Written by \`$COMMAND\` on $(date -u '+%Y-%m-%d %H:%M UTC'); $MACHINE. ${BENCH_NOTE:-}"
  echo
  echo "The same \`INSERT ... SELECT\` applied as replicated rows (\`session_replication_role = replica\`,"
  echo "as logical replication's apply worker runs) into an unlogged table without an index: without the"
  echo "guard, with \`snowflake_guard_replicated()\` (C, reads the key column only), and with the 1.0 guard"
  echo "(PL/pgSQL, \`to_jsonb\` of the whole row). Median of $REPS runs, ms; per row = (with − without) / rows."
  echo
  echo "| rows | n | without | C guard | per row | PL/pgSQL 1.0 | per row |"
  echo "|---|---|---|---|---|---|---|"
  for shape in narrow many wide; do
    n=${shape_rows[$shape]}
    echo "| ${shape_what[$shape]} | $n | $(calc "${R[${shape}_none]}" 1) | $(calc "${R[${shape}_c]}" 1) | $(calc "(${R[${shape}_c]} - ${R[${shape}_none]}) * 1000 / $n" 2) µs ($(calc "${R[${shape}_c]} / ${R[${shape}_none]}" 2)x) | $(calc "${R[${shape}_plpgsql]}" 1) | $(calc "(${R[${shape}_plpgsql]} - ${R[${shape}_none]}) * 1000 / $n" 2) µs ($(calc "${R[${shape}_plpgsql]} / ${R[${shape}_none]}" 2)x) |"
  done
  echo
  echo "Every run (ms), in the order taken (the variants took turns within each repetition):"
  echo
  echo "| rows | guard | runs |"
  echo "|---|---|---|"
  printf '%s' "$RAW"
} >"$BENCH/guard.md"
cat "$BENCH/guard.md"
