#!/usr/bin/env bash
# The durable mark file as an operator meets it: hand-written marks, things at its path that are not a
# file, marks past the layout or far ahead of the clock (SF005), and a file edited while the server runs.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 12"
mark=$SF_WORK/node/pg_snowflake/mark
sf_start node
sf_psql node -c "CREATE EXTENSION snowflake" -c "CREATE TABLE ids (id bigint PRIMARY KEY)"
take() { sf_psql node -c "INSERT INTO ids SELECT snowflake_next() FROM generate_series(1, ${1:-100}) RETURNING 1" | wc -l; }
status() { sf_psql node -c "SELECT $1 FROM snowflake_status()"; }
now_ms() { echo $(( $(date +%s%3N) - 1704067200000 )); }
# restart_with TEXT-WRITER...: stop, replace the mark by what the command leaves at its path, start.
restart_with() {
  sf_stop node
  sf_as_pg rm -rf "$mark"
  sf_as_pg bash -c "$1"
  : >"$SF_WORK/node/server.log"
  sf_start node
}
check_above_all() {
  local before after
  before=$(sf_psql node -c "SELECT max(id) FROM ids")
  after=$(sf_psql node -c "INSERT INTO ids VALUES (snowflake_next()) RETURNING id" 2>&1) || true
  if [[ "$after" =~ ^[0-9]+$ ]] && [ "$after" -gt "$before" ]; then sf_pass "$1"; else sf_fail "$1: $after not above $before"; fi
}
take 1000 >/dev/null

echo "-- marks written by hand are read: with or without the newline, with spaces around"
for form in "printf '%s' 'MS'" "echo 'MS'" "printf '  MS  \n'" "printf '\tMS\r\n'"; do
  ms=$(sf_psql node -c "SELECT (max(id) >> 22) + 1 FROM ids")
  restart_with "${form//MS/$ms} > '$mark'"
  sf_check_match "[$form] read as a mark at start" "resuming above the durable mark $ms ms" "$(cat "$SF_WORK/node/server.log")"
  check_above_all "[$form] IDs resume above all earlier ones"
  take 100 >/dev/null
done

echo "-- anything at the path that is not a regular readable file is SF004, never \"no mark\""
ms=$(sf_psql node -c "SELECT (max(id) >> 22) + 1 FROM ids")
declare -A makers=(
  [dangling]="ln -s '$SF_WORK/node/pg_snowflake/gone' '$mark'"
  [directory]="mkdir '$mark'"
  [fifo]="mkfifo '$mark'"
  [unreadable]="echo $ms > '$mark' && chmod 000 '$mark'"
  [garbage]="echo '12abc' > '$mark'"
  [empty]=": > '$mark'"
)
declare -A reasons=([dangling]="a symbolic link that leads nowhere" [directory]="a directory, not a file"
  [fifo]="a FIFO, not a file" [unreadable]="Permission denied" [garbage]="not a mark" [empty]="not a mark")
for kind in dangling directory fifo unreadable garbage empty; do
  restart_with "${makers[$kind]}"
  err=$(sf_error node "SELECT snowflake_next()")
  sf_check_match "$kind: snowflake_next() fails with SF004 naming the reason" \
    "ERROR: +SF004: could not read the snowflake durable mark \"pg_snowflake/mark\": ${reasons[$kind]}" "$err"
  sf_check_match "$kind: the start-up log warns" "WARNING: +snowflake: could not read the durable mark" \
    "$(cat "$SF_WORK/node/server.log")"
done
sf_check_match "... the hint names the repair's docs page and section" \
  'HINT: +With the server stopped, replace it by a regular file .*see docs/durability.md, section "The durable mark file"\.' "$err"
sf_stop node
sf_as_pg rm -rf "$mark"
sf_as_pg bash -c "echo $ms > '$mark'"
sf_start node
check_above_all "a regular file again: IDs resume above all earlier ones"

echo "-- a mark past the layout's range is SF005, and snowflake_status() shows it without overflow"
for big in 2399999999999 9223372036854775807; do
  restart_with "echo $big > '$mark'"
  err=$(sf_error node "SELECT snowflake_next()")
  sf_check_match "mark $big: SF005" "ERROR: +SF005: the snowflake durable mark \"pg_snowflake/mark\" is past the range of snowflake IDs" "$err"
  sf_check_match "... with a hint naming the procedure" "HINT: +Follow docs/durability.md, section \"Recovering from a clock that was set ahead\"" "$err"
  sf_check_match "... and a start-up warning" "WARNING: +snowflake: the durable mark .* is past the range" "$(cat "$SF_WORK/node/server.log")"
done
sf_check "status of the mark 9223372036854775807: infinity, not an overflow" "infinity|infinity" \
  "$(sf_psql node -c "SELECT durable_mark, last_ts FROM snowflake_status()")"
restart_with "echo 2399999999999 > '$mark'"
sf_check "status of the mark 2399999999999: its time" "t" \
  "$(sf_psql node -c "SELECT durable_mark = timestamptz '2024-01-01 00:00:00+00' + 2399999999999 * interval '1 ms' FROM snowflake_status()")"
sf_stop node
sf_check "a refused mark is left as it is at shutdown" "2399999999999" "$(cat "$mark")"
sf_start node

echo "-- ahead of the clock: within the bound (5 minutes) waited out as a clock behind, beyond it SF005"
restart_with "echo $(( $(now_ms) + 120000 )) > '$mark'"
sf_check_match "2 minutes ahead: SF001, which passes by itself" "ERROR: +SF001: clock moved backwards" \
  "$(sf_error node "SELECT snowflake_next()")"
restart_with "echo $(( $(now_ms) + 360000 )) > '$mark'"
err=$(sf_error node "SELECT snowflake_next()")
sf_check_match "6 minutes ahead: SF005" "ERROR: +SF005: the snowflake durable mark \"pg_snowflake/mark\" is too far ahead of the clock" "$err"
sf_check_match "... the detail says by how much and the bound" "DETAIL: +At start-up it held .*, 3[56][0-9]{4} ms ahead of the clock .*; a mark more than 300000 ms ahead is not waited out" "$err"
sf_check_match "... the hint names the procedure" "If the clock is wrong, correct it and restart the server.*follow docs/durability.md, section \"Recovering from a clock that was set ahead\"" "$err"

echo "-- a mark edited while the server runs is not overwritten at a clean shutdown"
restart_with "echo $ms > '$mark'"
take 100 >/dev/null
edited=$(( $(now_ms) + 200000 ))
echo "$edited" | sf_as_pg tee "$mark" >/dev/null
sf_stop node
sf_check "the edit survives the clean shutdown" "$edited" "$(cat "$mark")"
sf_check_match "... and the log says it was left as it is" \
  "WARNING: +snowflake: the durable mark \"pg_snowflake/mark\" was changed while the server ran: left as it is" \
  "$(cat "$SF_WORK/node/server.log")"
sf_start node
sf_check_match "the next start reads the edited mark" "resuming above the durable mark $edited ms" "$(cat "$SF_WORK/node/server.log")"
# Unedited, a clean shutdown records the exact last millisecond (below the lease-ahead mark).
restart_with "echo $ms > '$mark'"
last=$(sf_psql node -c "INSERT INTO ids VALUES (snowflake_next()) RETURNING id >> 22")
sf_stop node
sf_check "unedited, a clean shutdown records the last millisecond used" "$last" "$(cat "$mark")"
sf_start node

echo "-- no duplicates anywhere above"
sf_check "every ID taken is distinct" "$(sf_psql node -c "SELECT count(*) FROM ids")" "$(sf_psql node -c "SELECT count(DISTINCT id) FROM ids")"
sf_summary
