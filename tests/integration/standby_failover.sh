#!/usr/bin/env bash
# Copies of a data directory: a physical standby keeps its primary's machine id through promotion;
# a restored backup carries the old id in its postgresql.conf and must be given a new one.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

sf_init primary "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 21" "max_connections = 10" \
  "shared_buffers = 16MB"
sf_start primary
sf_psql primary -c "CREATE EXTENSION snowflake" \
  -c "CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next(), n int)" \
  -c "INSERT INTO events (n) SELECT g FROM generate_series(1, 500) g"

# copy NAME FROM [pg_basebackup options...]: a base backup of FROM as cluster NAME, on its own socket.
copy() {
  local name=$1 from=$2
  shift 2
  # (it warns about the copied socket, which lives in the data directory here; the log says more on failure)
  sf_as_pg pg_basebackup -h "$SF_WORK/$from" -U postgres -D "$SF_WORK/$name" -X stream "$@" 2>"$SF_WORK/$name.basebackup.log" ||
    { cat "$SF_WORK/$name.basebackup.log"; return 1; }
  rm -f "$SF_WORK/$name"/.s.PGSQL.* "$SF_WORK/$name/server.log"
  echo "unix_socket_directories = '$SF_WORK/$name'" | sf_as_pg tee -a "$SF_WORK/$name/postgresql.conf" >/dev/null
}

echo "-- a physical standby replays its primary and carries the same id"
copy standby primary -R
sf_start standby
sf_check "the standby is in recovery" t "$(sf_psql standby -c "SELECT pg_is_in_recovery()")"
sf_check "its machine id is the primary's (postgresql.conf came with the copy)" 21 \
  "$(sf_psql standby -c "SHOW snowflake.machine_id")"
sf_psql primary -c "INSERT INTO events (n) SELECT g FROM generate_series(501, 1000) g"
if sf_wait_until standby 30 "SELECT count(*) = 1000 FROM events"; then sf_pass "the standby replayed 1000 rows"; else
  sf_fail "the standby did not catch up: $(sf_psql standby -c "SELECT count(*) FROM events")"; fi

echo "-- failover: the old primary is stopped for good, the standby is promoted and writes with id 21"
last=$(sf_psql primary -c "SELECT max(id) FROM events")
sf_stop primary
sf_as_pg pg_ctl -D "$SF_WORK/standby" -w -t 30 promote >/dev/null
sf_check "promoted" f "$(sf_psql standby -c "SELECT pg_is_in_recovery()")"
sf_psql standby -c "INSERT INTO events (n) SELECT g FROM generate_series(1001, 1500) g"
sf_check "its new rows carry machine id 21" "21|21" \
  "$(sf_psql standby -c "SELECT min(snowflake_machine_id(id)), max(snowflake_machine_id(id)) FROM events WHERE n > 1000")"
sf_check "and lie after the old primary's last ID (its clock is past it)" t \
  "$(sf_psql standby -c "SELECT min(id) > $last FROM events WHERE n > 1000")"

echo "-- a backup restored as a new node"
copy restored standby
sf_check "the backup's postgresql.conf still names machine id 21" "snowflake.machine_id = 21" \
  "$(grep -E '^snowflake\.machine_id' "$SF_WORK/restored/postgresql.conf")"
sf_as_pg pg_ctl -D "$SF_WORK/restored" -l "$SF_WORK/restored/server.log" -o "-c snowflake.machine_id=22" -w -t 30 start >/dev/null
sf_check "given a new id on start, it issues IDs with 22" 22 \
  "$(sf_psql restored -c "INSERT INTO events (n) VALUES (0) RETURNING snowflake_machine_id(id)")"
sf_check "the copied rows keep the id they were made with" "21|1500" \
  "$(sf_psql restored -c "SELECT min(snowflake_machine_id(id)), count(*) FROM events WHERE n > 0")"
sf_check "the two writable nodes share no machine id" 0 "$(sf_psql restored -c "
  SELECT count(*) FROM snowflake_shared_machine_ids(ARRAY['promoted', 'restored'],
    ARRAY[$(sf_psql standby -c "SHOW snowflake.machine_id"), $(sf_psql restored -c "SHOW snowflake.machine_id")])")"
sf_summary
