#!/usr/bin/env bash
# The side-by-side tables of two bench/run.sh runs (bench/pgA.tsv, bench/pgB.tsv), in Markdown:
#
#   bash bench/compare.sh            # PostgreSQL 15 and 18
#   bash bench/compare.sh 15 17
#
# Nothing is measured here; every figure comes from the .tsv files the runs wrote.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
A=${1:-15} B=${2:-18}
for v in "$A" "$B"; do
  [ -f "$BENCH/pg$v.tsv" ] || { echo "compare.sh: no bench/pg$v.tsv (run PG_MAJOR=$v bash bench/run.sh)" >&2; exit 1; }
done
get() { awk -F'\t' -v k="$2" '$1 == k {print $2; found = 1} END {if (!found) print ""}' "$BENCH/pg$1.tsv"; }
fmt() {  # fmt VALUE DIVISOR DECIMALS: "—" where the version has no such figure
  [ -n "$1" ] && awk -v v="$1" -v d="$2" -v p="$3" 'BEGIN {printf "%.*f", p, v / d}' || echo "—"
}
cell() { echo "$(fmt "$(get "$A" "$1")" "$2" "$3") | $(fmt "$(get "$B" "$1")" "$2" "$3")"; }
label() {
  case $1 in
    snowflake) echo "\`snowflake_next()\` (bigint)" ;;
    nextval | bigserial) echo "\`nextval()\` (bigserial)" ;;
    uuid) echo "\`gen_random_uuid()\` (uuid v4)" ;;
    uuid7) echo "\`uuidv7()\` (uuid v7, 18 only)" ;;
    clock) echo "\`clock_timestamp()\` (no ID, the floor)" ;;
  esac
}
echo "| generator | one session: M IDs/s, $A | $B | $(get "$A" clients) clients x 1000 IDs/txn: M IDs/s, $A | $B | $(get "$A" clients) clients x 1 ID/txn: TPS, $A | $B |"
echo "|---|---|---|---|---|---|---|"
for g in snowflake nextval uuid uuid7 clock; do
  echo "| $(label $g) | $(cell one_${g}_ids 1e6 2) | $(cell many_$g 1e6 2) | $(cell txn_$g 1 0) |"
done
echo
echo "| rows | key | insert s, $A | $B | PK index MB, $A | $B | leaf density %, $A | $B |"
echo "|---|---|---|---|---|---|---|---|"
for s in small large; do
  rows=$(get "$A" bulk_rows); [ $s = large ] && rows=$(get "$A" large_rows)
  for k in snowflake bigserial uuid uuid7; do
    echo "| $(fmt "$rows" 1e6 0) M | $(label $k) | $(cell ${s}_${k}_ms 1000 1) | $(cell ${s}_${k}_size 1048576 1) | $(cell ${s}_${k}_density 1 2) |"
  done
done
echo
echo "$A: $(get "$A" pg_version | cut -d, -f1), \`$(get "$A" command)\`, $(get "$A" date), commit $(get "$A" commit)."
echo "$B: $(get "$B" pg_version | cut -d, -f1), \`$(get "$B" command)\`, $(get "$B" date), commit $(get "$B" commit)."
echo "Machine: $(get "$A" machine)."
