#!/usr/bin/env bash
# pg_upgrade runs both servers in binary-upgrade mode: the extension must start there without a
# generator, without touching the durable mark and without warnings that mislead. A real pg_upgrade
# (PostgreSQL 15 to 15, a new data directory) of a cluster with the extension, IDs and a mark.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init old "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 14"
sf_start old
sf_psql old -c "CREATE EXTENSION snowflake" -c "CREATE TABLE t (id bigint PRIMARY KEY DEFAULT snowflake_next())" \
  -c "INSERT INTO t SELECT FROM generate_series(1, 1000)"
sf_stop old
old_mark=$(cat "$SF_WORK/old/pg_snowflake/mark")
old_mark_mtime=$(stat -c %Y.%y "$SF_WORK/old/pg_snowflake/mark")

echo "-- pg_upgrade into a new cluster that preloads snowflake with no machine id yet"
sf_init new "shared_preload_libraries = 'snowflake'"
if sf_as_pg bash -c "cd '$SF_WORK' && pg_upgrade --retain -b '$PG_BIN' -B '$PG_BIN' -d '$SF_WORK/old' -D '$SF_WORK/new' \
    -s '$SF_WORK' >'$SF_WORK/pg_upgrade.out' 2>&1"; then
  sf_pass "pg_upgrade succeeds"
else
  sf_fail "pg_upgrade failed: $(tail -20 "$SF_WORK/pg_upgrade.out")"
fi
logs=$(cat "$SF_WORK"/new/pg_upgrade_output.d/*/log/pg_upgrade_server.log 2>/dev/null || true)
sf_check_match "the servers pg_upgrade ran logged the binary-upgrade mode" \
  "snowflake: binary-upgrade mode: no IDs are issued and the durable mark is left alone" "$logs"
sf_check "... and no snowflake warning (the unset machine id is not a problem there)" "" \
  "$(echo "$logs" | grep -E "WARNING: .*snowflake" || true)"
sf_check "... nor a start of the generator" "" "$(echo "$logs" | grep -E "issuing IDs|resuming above" || true)"
sf_check "no mark was written in the new data directory" "absent" \
  "$([ -e "$SF_WORK/new/pg_snowflake" ] && echo present || echo absent)"
sf_check "the old cluster's mark is untouched" "$old_mark $old_mark_mtime" \
  "$(cat "$SF_WORK/old/pg_snowflake/mark") $(stat -c %Y.%y "$SF_WORK/old/pg_snowflake/mark")"

echo "-- a server started in binary-upgrade mode by hand (postgres -b) refuses the generator's functions"
sf_as_pg pg_ctl -D "$SF_WORK/new" -l "$SF_WORK/new/binary.log" -o "-b -c snowflake.machine_id=14" -w -t 30 start >/dev/null
sf_check_match "snowflake_next() fails with 55000" "ERROR: +55000: snowflake_next\(\) is not available during a binary upgrade" \
  "$(sf_error new "SELECT snowflake_next()")"
sf_check_match "snowflake_status() too" "ERROR: +55000: snowflake_status\(\) is not available during a binary upgrade" \
  "$(sf_error new "SELECT * FROM snowflake_status()")"
sf_stop new
sf_check "still no mark in the new data directory" "absent" "$([ -e "$SF_WORK/new/pg_snowflake" ] && echo present || echo absent)"

echo "-- after the upgrade, as docs/upgrading.md says: the mark copied, the machine id set"
sf_as_pg mkdir -m 700 "$SF_WORK/new/pg_snowflake"
sf_as_pg cp "$SF_WORK/old/pg_snowflake/mark" "$SF_WORK/new/pg_snowflake/mark"
echo "snowflake.machine_id = 14" | sf_as_pg tee -a "$SF_WORK/new/postgresql.conf" >/dev/null
sf_start new
sf_check_match "the upgraded server resumes above the old mark" "resuming above the durable mark $old_mark ms" \
  "$(cat "$SF_WORK/new/server.log")"
sf_check "its IDs are above every ID of the old cluster" "t" \
  "$(sf_psql new -c "INSERT INTO t DEFAULT VALUES RETURNING id > (SELECT max(id) FROM t)")"
sf_summary
