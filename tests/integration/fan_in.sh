#!/usr/bin/env bash
# Fan-in: three primaries (machine ids 1-3) and a subscriber (4) that also writes, joined by logical
# replication: snowflake keys all arrive, bigserial keys collide, and the guard stops a second machine id 4.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

common=("shared_preload_libraries = 'snowflake'" "shared_buffers = 16MB" "max_connections = 20"
  "log_line_prefix = '%m [%p] %e '")
publisher=("wal_level = logical" "max_wal_senders = 8" "max_replication_slots = 8")
# machine id per node; "rogue" is wrongly given the subscriber's id.
declare -A mid=([n1]=1 [n2]=2 [n3]=3 [sub]=4 [rogue]=4)
for node in n1 n2 n3 rogue; do
  sf_init $node "${common[@]}" "${publisher[@]}" "snowflake.machine_id = ${mid[$node]}" "cluster_name = '$node'"
done
sf_init sub "${common[@]}" "snowflake.machine_id = 4" "cluster_name = 'sub'" \
  "max_logical_replication_workers = 10" "max_worker_processes = 16" "wal_retrieve_retry_interval = '1s'"
for node in n1 n2 n3 sub rogue; do sf_start $node; done

# origin: the node that wrote the row (replication copies the value; the default is evaluated only there).
for node in n1 n2 n3 sub rogue; do
  sf_psql $node -c "CREATE EXTENSION snowflake" -c "
    CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next(),
                         origin text NOT NULL DEFAULT current_setting('cluster_name'), n int, payload text);
    CREATE TABLE events_serial (id bigserial PRIMARY KEY,
                                origin text NOT NULL DEFAULT current_setting('cluster_name'), n int, payload text);"
done
for node in n1 n2 n3 rogue; do
  sf_psql $node -c "CREATE PUBLICATION pub_events FOR TABLE events" -c "CREATE PUBLICATION pub_serial FOR TABLE events_serial"
done
# The guard is on from the start: it must let every row of machine ids 1-3 through.
sf_psql sub -c "CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON events
                  FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated()" \
  -c "ALTER TABLE events ENABLE REPLICA TRIGGER snowflake_guard"

conninfo() { echo "host=$SF_WORK/$1 dbname=postgres user=postgres"; }

# write TABLE ROWS_PER_CLIENT_TX: pgbench on n1, n2, n3 and sub at once (2 clients each, 10 rows a transaction).
write_everywhere() {
  local table=$1 transactions=$2 node
  echo "INSERT INTO $table (n, payload) SELECT g, md5(random()::text) FROM generate_series(1, 10) g;" \
    >"$SF_WORK/$table.sql"
  chmod 644 "$SF_WORK/$table.sql"
  local pids=()
  for node in n1 n2 n3 sub; do
    sf_as_pg pgbench -n -h "$SF_WORK/$node" -U postgres -c 2 -j 1 -t "$transactions" -f "$SF_WORK/$table.sql" postgres \
      >"$SF_WORK/pgbench-$table-$node.log" 2>&1 &
    pids+=($!)
  done
  local i=0
  for node in n1 n2 n3 sub; do
    wait "${pids[$i]}" && status[$node]=0 || status[$node]=$?
    i=$((i + 1))
  done
}
declare -A status

echo "-- snowflake keys: 3 primaries and the subscriber write at once; everything meets in sub"
for node in n1 n2 n3; do
  sf_psql sub -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION sub_events_$node CONNECTION '$(conninfo $node)' PUBLICATION pub_events"
done
write_everywhere events 100
for node in n1 n2 n3 sub; do
  sf_check "pgbench on $node: 2 clients x 100 transactions x 10 rows, no error" 0 "${status[$node]}"
done
# Bounded wait for catch-up: each origin's row count in sub equals its publisher's.
declare -A written
for node in n1 n2 n3; do written[$node]=$(sf_psql $node -c "SELECT count(*) FROM events"); done
caught_up="SELECT bool_and(c) FROM (VALUES
  ((SELECT count(*) FROM events WHERE origin = 'n1') = ${written[n1]}),
  ((SELECT count(*) FROM events WHERE origin = 'n2') = ${written[n2]}),
  ((SELECT count(*) FROM events WHERE origin = 'n3') = ${written[n3]})) v(c)"
if sf_wait_until sub 90 "$caught_up"; then
  sf_pass "subscriber caught up with n1, n2, n3 (${written[n1]}, ${written[n2]}, ${written[n3]} rows)"
else
  sf_fail "subscriber did not catch up in 90 s: $(sf_psql sub -c "SELECT origin, count(*) FROM events GROUP BY 1 ORDER BY 1")"
fi
ids_digest="SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY id)) FROM events"
for node in n1 n2 n3; do
  sf_check "every row of $node arrived in sub, with the same ids" "$(sf_psql $node -c "$ids_digest")" \
    "$(sf_psql sub -c "$ids_digest WHERE origin = '$node'")"
done
sf_check "sub holds every row: its own 2000 and the 6000 replicated" 8000 "$(sf_psql sub -c "SELECT count(*) FROM events")"
sf_check "each row's decoded machine id names its origin" "n1:1 n2:2 n3:3 sub:4" \
  "$(sf_psql sub -c "SELECT string_agg(DISTINCT origin || ':' || snowflake_machine_id(id), ' ') FROM events")"
sf_check "no subscription worker had an error (apply and initial sync)" "3|0|0" \
  "$(sf_psql sub -c "SELECT count(*), sum(apply_error_count), sum(sync_error_count)
                     FROM pg_stat_subscription_stats WHERE subname LIKE 'sub_events_%'")"
sf_check "the subscriber's log has no ERROR" 0 "$(grep -c ' ERROR: ' "$SF_WORK/sub/server.log" || true)"

echo "-- the same with bigserial keys: every server counts 1, 2, 3, ... and the keys collide in sub"
for node in n1 n2 n3; do
  sf_psql sub -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION sub_serial_$node CONNECTION '$(conninfo $node)' PUBLICATION pub_serial
                  WITH (disable_on_error = true)"
done
write_everywhere events_serial 25
for node in n1 n2 n3; do
  sf_check "pgbench on $node: its own bigserial keys are fine locally" 0 "${status[$node]}"
  written[$node]=$(sf_psql $node -c "SELECT count(*) FROM events_serial")
done
# Each subscription either delivers all its rows or stops at its first error (disable_on_error).
settled="SELECT bool_and(NOT subenabled OR (SELECT count(*) FROM events_serial WHERE origin = substr(subname, 12))
                          = CASE subname WHEN 'sub_serial_n1' THEN ${written[n1]} WHEN 'sub_serial_n2' THEN ${written[n2]}
                                         WHEN 'sub_serial_n3' THEN ${written[n3]} END)
         FROM pg_subscription WHERE subname LIKE 'sub_serial_%'"
sf_wait_until sub 60 "$settled" || sf_fail "bigserial subscriptions neither finished nor stopped in 60 s"
# Id 1 was made by all four servers and sub can hold it once: at least two subscriptions must fail.
stopped=$(sf_psql sub -c "SELECT count(*) FROM pg_subscription WHERE subname LIKE 'sub_serial_%' AND NOT subenabled")
if [ "$stopped" -ge 2 ]; then sf_pass "$stopped of 3 bigserial subscriptions stopped on an error"; else
  sf_fail "only $stopped bigserial subscriptions stopped"; fi
# Apply or initial-sync errors: the initial copy may already meet rows, depending on timing.
if sf_wait_until sub 30 "SELECT sum(apply_error_count + sync_error_count) >= $stopped FROM pg_stat_subscription_stats
                      WHERE subname LIKE 'sub_serial_%'"; then
  sf_pass "pg_stat_subscription_stats counts their errors"
else
  sf_fail "errors not counted: $(sf_psql sub -c "SELECT subname, apply_error_count, sync_error_count FROM pg_stat_subscription_stats")"
fi
# PostgreSQL 18's apply worker reports it as a conflict (insert_exists) and names the index in the
# detail; the initial copy, and older versions, as the unique violation itself.
sf_check_match "the subscriber's log names the duplicate key" \
  'ERROR: +duplicate key value violates unique constraint "events_serial_pkey"|DETAIL: +Key already exists in unique index "events_serial_pkey"' \
  "$(cat "$SF_WORK/sub/server.log")"
total=$((written[n1] + written[n2] + written[n3]))
arrived=$(sf_psql sub -c "SELECT count(*) FROM events_serial WHERE origin <> 'sub'")
if [ "$arrived" -lt "$total" ]; then sf_pass "rows are missing in sub: $arrived of $total replicated rows arrived"; else
  sf_fail "all $total bigserial rows arrived: no conflict shown"; fi

echo "-- guard: a server wrongly given the subscriber's machine id 4"
sf_psql rogue -c "INSERT INTO events (n) SELECT g FROM generate_series(1, 100) g"
sf_psql sub -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION sub_events_rogue CONNECTION '$(conninfo rogue)' PUBLICATION pub_events
                WITH (copy_data = false, disable_on_error = true)"
sf_psql rogue -c "INSERT INTO events (n) SELECT g FROM generate_series(101, 150) g"
if sf_wait_until sub 60 "SELECT NOT subenabled FROM pg_subscription WHERE subname = 'sub_events_rogue'"; then
  sf_pass "streamed rows: the guard's error stopped the subscription"
else
  sf_fail "streamed rows: the subscription kept running"
fi
sf_check_match "the subscriber's log has the guard's SF010 error" \
  "SF010 ERROR: +replicated row of table \"events\" has snowflake ID [0-9]+ with this server's own machine id 4" \
  "$(cat "$SF_WORK/sub/server.log")"
if sf_wait_until sub 30 "SELECT apply_error_count = 1 FROM pg_stat_subscription_stats WHERE subname = 'sub_events_rogue'"; then
  sf_pass "counted as an apply error"
else
  sf_fail "not counted as an apply error"
fi
sf_psql sub -c "SET client_min_messages = warning" -c "DROP SUBSCRIPTION sub_events_rogue"
# The initial copy of a new subscription goes through the guard too.
sf_psql sub -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION sub_events_rogue2 CONNECTION '$(conninfo rogue)' PUBLICATION pub_events
                WITH (disable_on_error = true)"
if sf_wait_until sub 60 "SELECT NOT subenabled FROM pg_subscription WHERE subname = 'sub_events_rogue2'"; then
  sf_pass "initial copy: the guard's error stopped the subscription"
else
  sf_fail "initial copy: the subscription kept running"
fi
if sf_wait_until sub 30 "SELECT sync_error_count = 1 FROM pg_stat_subscription_stats WHERE subname = 'sub_events_rogue2'"; then
  sf_pass "counted as a sync error"
else
  sf_fail "not counted as a sync error"
fi
sf_check "no row of the rogue server was accepted" 0 "$(sf_psql sub -c "SELECT count(*) FROM events WHERE origin = 'rogue'")"
sf_check "the rows of n1, n2, n3 and sub are untouched" 8000 "$(sf_psql sub -c "SELECT count(*) FROM events")"
sf_check "sub still writes with machine id 4" 4 \
  "$(sf_psql sub -c "INSERT INTO events (n) VALUES (0) RETURNING snowflake_machine_id(id)")"

# The same duplicate found without replication, from the machine ids each node reports.
names=() ids=()
for node in n1 n2 n3 sub rogue; do names+=("'$node'"); ids+=("$(sf_psql $node -c "SHOW snowflake.machine_id")"); done
sf_check "snowflake_shared_machine_ids names sub and rogue" "4|{sub,rogue}" \
  "$(IFS=,; sf_psql sub -c "SELECT * FROM snowflake_shared_machine_ids(ARRAY[${names[*]}], ARRAY[${ids[*]}])")"
sf_summary
