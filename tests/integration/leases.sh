#!/usr/bin/env bash
# Machine ids from leases: a coordination server, nodes that lease ids 100-103 and write, a restart,
# a clone of a data directory, a node with a clock 15 s behind taking a freed id, the coordination
# server stopped and restarted under writes; every row meets in one hub over logical replication.
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir

# Short leases keep the test short: renewed every 0.5 s, so a lease outlives its last renewal by 1 s.
duration_ms=1500
node_conf() { # node_conf NAME ROLE
  echo "shared_preload_libraries = 'snowflake'"
  echo "snowflake.lease_conninfo = 'host=$SF_WORK/coord dbname=postgres user=$2 connect_timeout=2'"
  echo "snowflake.lease_machine_ids = '100-103'"
  echo "snowflake.lease_duration_ms = $duration_ms"
  echo "cluster_name = '$1'"
  echo "wal_level = logical"
  echo "max_wal_senders = 4"
  echo "max_replication_slots = 4"
  echo "shared_buffers = 16MB"
  echo "max_connections = 20"
  echo "log_line_prefix = '%m [%p] %e '"
}

# wait_until NODE SECONDS SQL: polls until SQL returns t; false if it never does in time.
wait_until() {
  local node=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(sf_psql "$node" -c "$3" 2>/dev/null)" = t ] && return 0
    sleep 0.2
  done
  return 1
}
held="SELECT lease_state = 'held' FROM snowflake_status()"
leased_id() { sf_psql "$1" -c "SELECT machine_id FROM snowflake_status()"; }

echo "-- start-up: a static machine id and a lease together, or a lease without a valid range, stop the server"
sf_init both "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 1" \
  "snowflake.lease_conninfo = 'host=/nonexistent'" "snowflake.lease_machine_ids = '1-2'"
if sf_start both 2>/dev/null; then sf_fail "a server with both a machine id and a lease started"; else
  sf_check_match "both set: FATAL naming both settings" \
    "FATAL: +snowflake.machine_id and snowflake.lease_conninfo are both set" "$(cat "$SF_WORK/both/server.log")"
fi
sf_init norange "shared_preload_libraries = 'snowflake'" "snowflake.lease_conninfo = 'host=/nonexistent'" \
  "snowflake.lease_machine_ids = '200-100'"
if sf_start norange 2>/dev/null; then sf_fail "a server with an invalid lease range started"; else
  sf_check_match "invalid range: FATAL naming snowflake.lease_machine_ids" \
    'FATAL: +invalid value for parameter "snowflake.lease_machine_ids": "200-100"' "$(cat "$SF_WORK/norange/server.log")"
fi

echo "-- the coordination server: the extension, one role per node, nothing but the functions granted"
sf_init coord "max_connections = 30"
sf_start coord
sf_psql coord -c "CREATE EXTENSION snowflake_coordination"
for role in node1 node2 node3 node4; do
  sf_psql coord -c "CREATE ROLE $role LOGIN" -c "
    GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                              snowflake_lease_renew(integer, uuid, uuid, bigint),
                              snowflake_lease_release(integer, uuid, uuid, bigint) TO $role" \
    -c "INSERT INTO snowflake_lease_grant VALUES ('$role', '[0,1023]')"
done

echo "-- concurrent claims, under READ COMMITTED and SERIALIZABLE: one holder per id, whatever the race"
for isolation in "read committed" serializable; do
  pids=()
  for i in $(seq 1 16); do
    holder=$(printf '00000000-0000-4000-8000-%012d' "$i")
    sf_as_pg psql -h "$SF_WORK/coord" -U "node$(((i - 1) % 4 + 1))" -d postgres -X -q -A -t \
      -c "SET default_transaction_isolation = '$isolation'" \
      -c "SELECT status, machine_id FROM snowflake_lease_claim('$holder', '$holder', 900, 903, 1000000, 60000)" \
      >"$SF_WORK/race-$i.out" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  out=$(cat "$SF_WORK"/race-*.out)
  rm -f "$SF_WORK"/race-*.out
  granted=$(echo "$out" | grep -c '^granted|' || true)
  distinct=$(echo "$out" | sed -n 's/^granted|//p' | sort -u | wc -l)
  rows=$(sf_psql coord -c "SELECT count(*) FROM snowflake_lease WHERE machine_id BETWEEN 900 AND 903")
  # Under SERIALIZABLE a loser may fail with 40001 (a node retries); any other error is a defect.
  other_errors=$(echo "$out" | grep '^ERROR:' | grep -vc 'could not serialize access' || true)
  sf_check "$isolation: 16 racing claims: no id granted twice, every grant a row, no other error" \
    "$granted $granted 0" "$distinct $rows $other_errors"
  if [ "$isolation" = "read committed" ]; then
    sf_check "$isolation: all 4 ids granted, 12 claims told exhausted" "4 12" \
      "$granted $(echo "$out" | grep -c '^exhausted|' || true)"
  elif [ "$granted" -ge 1 ]; then
    sf_pass "$isolation: $granted ids granted; $(echo "$out" | grep -c 'could not serialize access' || true) claims lost a race (40001)"
  else sf_fail "$isolation: no id granted"; fi
  sf_psql coord -c "DELETE FROM snowflake_lease WHERE machine_id BETWEEN 900 AND 903"
done

echo "-- a transaction held open around lease calls delays no other node for long"
# node1 holds id 950 and, in a transaction it keeps open for 20 s, renews it (a row lock) and
# claims id 952 for another holder (not committed). node2's claim of 952-953 skips 952 at once;
# another run of node1 asking for its id 950 waits at most lock_timeout (1 s) and is told why.
h1=00000000-0000-4000-8000-000000000950
h2=00000000-0000-4000-8000-000000000952
sf_as_pg psql -h "$SF_WORK/coord" -U node1 -d postgres -X -q -A -t \
  -c "SELECT status FROM snowflake_lease_claim('$h1', '$h1', 950, 950, 1000, 60000)" >/dev/null
sf_as_pg psql -h "$SF_WORK/coord" -U node1 -d postgres -X -q -A -t -c "BEGIN" \
  -c "SELECT status FROM snowflake_lease_renew(950, '$h1', '$h1', 2000)" \
  -c "SELECT status, machine_id FROM snowflake_lease_claim('$h2', '$h2', 952, 952, 1000, 60000)" \
  -c "SELECT pg_sleep(20)" -c "COMMIT" >"$SF_WORK/open-tx.out" 2>&1 &
open_tx=$!
sleep 1
started=$SECONDS
out=$(sf_as_pg timeout 15 psql -h "$SF_WORK/coord" -U node2 -d postgres -X -q -A -t \
  -c "SELECT status, machine_id FROM snowflake_lease_claim('00000000-0000-4000-8000-000000000953', gen_random_uuid(), 952, 953, 1000, 60000)" 2>&1 || true)
sf_check "node2's claim beside an open transaction claiming id 952: id 953 at once" "granted|953 yes" \
  "$out $([ $((SECONDS - started)) -le 3 ] && echo yes || echo "no ($((SECONDS - started)) s)")"
started=$SECONDS
out=$(sf_as_pg timeout 15 psql -h "$SF_WORK/coord" -U node1 -d postgres -X -q -A -t -v VERBOSITY=verbose \
  -c "SELECT status FROM snowflake_lease_claim('$h1', gen_random_uuid(), 950, 950, 1000, 60000)" 2>&1 || true)
sf_check_match "another run of node1 asking for its id 950: 55P03 within seconds, naming the open transaction" \
  "ERROR: +55P03: a lease of role node1 is locked by another transaction.*yes" \
  "$(echo $out) $([ $((SECONDS - started)) -le 4 ] && echo yes || echo "no ($((SECONDS - started)) s)")"
kill "$open_tx" 2>/dev/null || true
wait "$open_tx" 2>/dev/null || true
sf_psql coord -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'node1'" >/dev/null
sf_psql coord -c "DELETE FROM snowflake_lease WHERE machine_id BETWEEN 950 AND 953"

echo "-- a node pointed at a database without the extension says so"
sf_init noext "shared_preload_libraries = 'snowflake'" "snowflake.lease_machine_ids = '100-103'" \
  "snowflake.lease_conninfo = 'host=$SF_WORK/coord dbname=template1 user=node1'"
sf_start noext
sf_psql noext -c "CREATE EXTENSION snowflake"
deadline=$((SECONDS + 10))
until grep -q 'could not claim a machine id' "$SF_WORK/noext/server.log" || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
sf_check_match "SF030, naming the missing extension" \
  "ERROR: +SF030: no machine id is leased to this server.*DETAIL: +the snowflake_coordination extension is not installed in the coordination database" \
  "$(sf_error noext "SELECT snowflake_next()")"
sf_stop noext

echo "-- a coordination database still at 1.1: a node leases from it, through the update and the take-over"
# A node of 1.2 finds the lease functions in extension snowflake (1.1, or updated and not yet taken
# over) and in snowflake_coordination after CREATE EXTENSION snowflake_coordination takes them over.
sf_psql coord -c "CREATE DATABASE legacy"
sf_psql coord -d legacy -c "CREATE EXTENSION snowflake VERSION '1.1'" -c "
  GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                            snowflake_lease_renew(integer, uuid, uuid, bigint),
                            snowflake_lease_release(integer, uuid, uuid, bigint) TO node1"
sf_init legacy "shared_preload_libraries = 'snowflake'" "snowflake.lease_machine_ids = '700-703'" \
  "snowflake.lease_duration_ms = $duration_ms" "snowflake.lease_conninfo = 'host=$SF_WORK/coord dbname=legacy user=node1 connect_timeout=2'"
sf_start legacy
sf_psql legacy -c "CREATE EXTENSION snowflake"
if wait_until legacy 20 "$held"; then sf_pass "a node leases from a 1.1 coordination database"; else
  sf_fail "no lease from a 1.1 coordination database: $(sf_psql legacy -c "SELECT lease_state FROM snowflake_status()")"; fi
legacy_renewals() { sf_psql coord -d legacy -c "SELECT renewed_at FROM snowflake_lease WHERE machine_id BETWEEN 700 AND 703"; }
renewed_after() { # renewed_after STAMP: true once the node's lease is renewed after STAMP
  local deadline=$((SECONDS + 10))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(sf_psql coord -d legacy -c "SELECT bool_or(renewed_at > '$1') FROM snowflake_lease")" = t ] && return 0
    sleep 0.2
  done
  return 1
}
sf_psql coord -d legacy -c "ALTER EXTENSION snowflake UPDATE" 2>/dev/null
stamp=$(legacy_renewals)
if renewed_after "$stamp"; then sf_pass "updated to 1.2, leases kept in extension snowflake: the node renews"; else
  sf_fail "no renewal after the update"; fi
sf_psql coord -d legacy -c "CREATE EXTENSION snowflake_coordination"
stamp=$(legacy_renewals)
if renewed_after "$stamp"; then sf_pass "taken over by snowflake_coordination: the node renews"; else
  sf_fail "no renewal after the take-over"; fi
sf_check "the lease never lapsed, one id held throughout" "held|1" \
  "$(sf_psql legacy -c "SELECT lease_state FROM snowflake_status()")|$(sf_psql coord -d legacy -c "SELECT count(*) FROM snowflake_lease")"
sf_stop legacy

# The hub: every node's rows meet here (it issues no IDs itself).
sf_init hub "max_logical_replication_workers = 8" "max_worker_processes = 16" "wal_retrieve_retry_interval = '1s'" \
  "max_connections = 30" "log_line_prefix = '%m [%p] %e '"
sf_start hub
sf_psql hub -c "CREATE EXTENSION snowflake" -c "CREATE TABLE events (id bigint PRIMARY KEY, origin text NOT NULL, n int)"

# On a writing node: the table, its publication, and a writer that inserts 5 rows every 50 ms in
# transactions of their own until told to stop, recording each failure instead of stopping.
setup_writer() {
  sf_psql "$1" -c "
    CREATE TABLE events (id bigint PRIMARY KEY DEFAULT snowflake_next(),
                         origin text NOT NULL DEFAULT current_setting('cluster_name'), n int);
    CREATE TABLE write_errors (at timestamptz, sqlstate text, message text);
    CREATE TABLE writer_control (stop boolean);
    CREATE PUBLICATION pub FOR TABLE events;
    CREATE PROCEDURE write_loop() LANGUAGE plpgsql AS \$\$
    BEGIN
      LOOP
        EXIT WHEN (SELECT bool_or(stop) FROM writer_control);
        BEGIN
          INSERT INTO events (n) SELECT g FROM generate_series(1, 5) g;
        EXCEPTION WHEN OTHERS THEN
          INSERT INTO write_errors VALUES (clock_timestamp(), SQLSTATE, SQLERRM);
        END;
        COMMIT;
        PERFORM pg_sleep(0.05);
      END LOOP;
    END \$\$;"
}
declare -A writer
start_writer() {
  sf_psql "$1" -c "DELETE FROM writer_control"
  sf_psql "$1" -c "CALL write_loop()" >"$SF_WORK/writer-$1.log" 2>&1 &
  writer[$1]=$!
}
stop_writer() {
  sf_psql "$1" -c "INSERT INTO writer_control VALUES (true)"
  wait "${writer[$1]}" || true
}
subscribe() { # subscribe NODE [copy_data]
  sf_psql hub -c "SET client_min_messages = warning" -c "CREATE SUBSCRIPTION sub_$1
    CONNECTION 'host=$SF_WORK/$1 dbname=postgres user=postgres' PUBLICATION pub WITH (copy_data = ${2:-true})"
}

echo "-- three nodes lease distinct ids"
init_node() { local conf; mapfile -t conf < <(node_conf "$1" "$2"); sf_init "$1" "${conf[@]}"; }
init_node n1 node1
init_node n2 node2
init_node n3 node3
for node in n1 n2 n3; do sf_start $node; sf_psql $node -c "CREATE EXTENSION snowflake"; done
for node in n1 n2 n3; do
  if wait_until $node 20 "$held"; then sf_pass "$node holds a lease"; else
    sf_fail "$node has no lease: $(sf_psql $node -c "SELECT lease_state FROM snowflake_status()")"; fi
done
declare -A mid
for node in n1 n2 n3; do mid[$node]=$(leased_id $node); done
sf_check "three distinct ids from 100-103" 3 \
  "$(printf '%s\n' "${mid[n1]}" "${mid[n2]}" "${mid[n3]}" | grep -E '^10[0-3]$' | sort -u | wc -l)"
sf_check "the coordination server shows three held leases" 3 \
  "$(sf_psql coord -c "SELECT count(*) FROM snowflake_leases WHERE state = 'held' AND host IS NOT NULL")"
for node in n1 n2 n3; do setup_writer $node; subscribe $node; start_writer $node; done
sleep 1

echo "-- a node's mark records in the WAL name the machine id it leased"
sf_psql n2 -c "CREATE EXTENSION pg_walinspect"
sf_check "n2's mark records name machine id ${mid[n2]}, and no other" "t|0" \
  "$(sf_psql n2 -c "SELECT count(*) > 0, count(*) FILTER (WHERE description NOT LIKE '%; machine_id ${mid[n2]}')
    FROM pg_get_wal_records_info((SELECT redo_lsn FROM pg_control_checkpoint()), pg_current_wal_flush_lsn())
    WHERE resource_manager = 'snowflake' AND record_type = 'MARK'")"

echo "-- n1 killed and restarted: it gets its id back, and its IDs go on above the old ones"
sf_stop n1 immediate
wait "${writer[n1]}" || true
sf_start n1
if wait_until n1 20 "$held"; then sf_pass "n1 holds a lease again"; else sf_fail "n1 has no lease after its restart"; fi
sf_check "n1 got its id back" "${mid[n1]}" "$(leased_id n1)"
# Killed, it released nothing: the new run starts after the old run's lease end (and, if it came
# back within that lease, first waits to see that nobody renews it any more).
sf_check_match "n1's new run issues IDs only after its old run's lease end" \
  "leased machine id ${mid[n1]} until .*DETAIL: +IDs start after the previous holder's lease end" \
  "$(sed -n '/received immediate shutdown request/,$p' "$SF_WORK/n1/server.log")"
old=$(sf_psql n1 -c "SELECT count(*) || ' ' || max(id) FROM events")
start_writer n1
wait_until n1 10 "SELECT count(*) > ${old% *} FROM events" || true
sf_check "n1 writes again, and no new ID is below its IDs from before the kill" "t|${old% *}" \
  "$(sf_psql n1 -c "SELECT count(*) > ${old% *}, count(*) FILTER (WHERE id <= ${old#* }) FROM events")"

echo "-- a clone of n2's data directory started beside it takes a new identity and another id"
sf_as_pg pg_basebackup -D "$SF_WORK/clone" -h "$SF_WORK/n2" -U postgres -X stream -c fast 2>/dev/null
# n2's log and socket lock file came with the copy (both live in its data directory here).
sf_as_pg truncate -s 0 "$SF_WORK/clone/server.log"
rm -f "$SF_WORK/clone/.s.PGSQL.5432.lock"
printf '%s\n' "unix_socket_directories = '$SF_WORK/clone'" "cluster_name = 'clone'" \
  | sf_as_pg tee -a "$SF_WORK/clone/postgresql.conf" >/dev/null
sf_start clone
if wait_until clone 20 "$held"; then sf_pass "the clone holds a lease"; else sf_fail "the clone has no lease"; fi
mid[clone]=$(leased_id clone)
sf_check "the clone leased the one free id, held by no other node" "1|0" \
  "$(sf_psql coord -c "SELECT count(*) FILTER (WHERE machine_id = ${mid[clone]}),
                             count(*) FILTER (WHERE machine_id = ${mid[clone]} AND machine_id IN (${mid[n1]}, ${mid[n2]}, ${mid[n3]}))
                      FROM snowflake_leases WHERE state = 'held'")"
sf_check "n2 still holds its id" "${mid[n2]}" "$(leased_id n2)"
if ! cmp -s "$SF_WORK/n2/pg_snowflake/node_id" "$SF_WORK/clone/pg_snowflake/node_id"; then
  sf_pass "the clone took a node identity of its own"; else sf_fail "the clone kept n2's node identity"; fi
sf_check_match "the clone's log says it is a copy" "renewed by another running server: this server is a copy" \
  "$(cat "$SF_WORK/clone/server.log")"
sf_psql clone -c "TRUNCATE write_errors"
subscribe clone false   # its copy of n2's rows is n2's; only what it writes itself is new
start_writer clone

echo "-- n4, its clock 15 s behind, waits for a free id; n3 stops; n4 takes its id and issues only above n3's IDs"
# libfaketime fakes the clock of n4's backends, which make the IDs; its postmaster and the lease
# worker it starts read the real clock (libfaketime stops faking the postmaster once it is up,
# with or without this extension). The bound is compared with the IDs' milliseconds, so this is
# the case that matters: the new holder's IDs carry a clock 15 s behind the old holder's (15 s, so
# that n4 still sees n3's end ahead after a loaded machine's slow lease hand-over).
init_node n4 node4
env4=$(sf_faketime_env n4)
sf_set_clock n4 -15s
# shellcheck disable=SC2086
sf_start n4 $env4
sf_psql n4 -c "CREATE EXTENSION snowflake"
if wait_until n4 20 "SELECT lease_state = 'exhausted' FROM snowflake_status()"; then
  sf_pass "n4 finds no free id while n1, n2, n3 and the clone hold 100-103"
else
  sf_fail "n4: $(sf_psql n4 -c "SELECT lease_state, machine_id FROM snowflake_status()")"
fi
sf_check_match "n4 without a lease: SF030 says the range is used up" \
  "ERROR: +SF030: no machine id is leased to this server.*DETAIL: +No machine id from 100 to 103 is free" \
  "$(sf_error n4 "SELECT snowflake_next()")"
n4_clock=$(sf_psql n4 -c "SELECT extract(epoch FROM now())")
sf_check "n4's IDs would carry a clock about 15 s behind" t \
  "$(sf_psql n4 -c "SELECT $n4_clock < $(date +%s.%N) - 14")"
setup_writer n4
subscribe n4
stop_writer n3
sf_stop n3  # a clean stop: its lease is released at the last millisecond it used
if wait_until n4 20 "$held"; then sf_pass "n4 holds a lease"; else sf_fail "n4 has no lease"; fi
mid[n4]=$(leased_id n4)
sf_check "n4 took n3's freed id" "${mid[n3]}" "${mid[n4]}"
# The previous holder's end n4 was given (checked below against n3's last ID: a clean stop
# releases the lease at the last millisecond used, not at the lease's end).
previous_end=$(sed -n "s/.*IDs start after the previous holder's lease end, \(.*\)\.$/\1/p" "$SF_WORK/n4/server.log" | tail -1)
start_writer n4
# n3's last millisecond is ahead of n4's clock: n4 fails with SF032 until its clock passes it.
if wait_until n4 45 "SELECT count(*) > 0 FROM events"; then sf_pass "n4 issues IDs once its clock passes n3's end"; else
  sf_fail "n4 issued no ID in 45 s: $(sf_psql n4 -c "SELECT sqlstate, message FROM write_errors LIMIT 1")"; fi
sf_check_match "before that, n4's inserts failed with SF032 naming the previous holder's end" \
  "^SF032[|]machine id ${mid[n4]} was leased after a holder whose lease ends at" \
  "$(sf_psql n4 -c "SELECT sqlstate || '|' || message FROM write_errors ORDER BY at LIMIT 1")"

echo "-- the collision guard on n4 knows its leased id, and lets n3's rows of that id through"
sf_psql n4 -c "CREATE TABLE guarded (id bigint PRIMARY KEY)" -c "CREATE TRIGGER snowflake_guard BEFORE INSERT OR UPDATE ON guarded
  FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated()" -c "ALTER TABLE guarded ENABLE REPLICA TRIGGER snowflake_guard"
# As the apply worker does: session_replication_role = replica.
sf_check "a replicated row of id ${mid[n4]} made by n3 (at its last millisecond) passes" "" \
  "$(sf_error n4 "SET session_replication_role = replica; INSERT INTO guarded VALUES (snowflake_compose('$previous_end', ${mid[n4]}, 4095))")"
sf_check_match "a replicated row of id ${mid[n4]} after n3's end is refused with SF010" \
  "ERROR: +SF010: replicated row of table \"guarded\" has snowflake ID [0-9]+ with this server's own machine id ${mid[n4]}.*HINT: +This server leases machine id" \
  "$(sf_error n4 "SET session_replication_role = replica; INSERT INTO guarded VALUES (snowflake_compose('$previous_end'::timestamptz + interval '1 millisecond', ${mid[n4]}, 0))")"

echo "-- the coordination server stops while the nodes write: IDs until the leases end, then SF031; then recovery"
writers=(n1 n2 clone n4)
for node in "${writers[@]}"; do sf_psql $node -c "TRUNCATE write_errors"; done
sf_stop coord
for node in "${writers[@]}"; do
  if wait_until $node 25 "SELECT count(*) > 0 FROM write_errors WHERE sqlstate = 'SF031'"; then
    sf_pass "$node: SF031 once its lease ended"
  else
    sf_fail "$node: no SF031 in 25 s: $(sf_psql $node -c "SELECT sqlstate, message FROM write_errors LIMIT 1")"
  fi
done
sf_check_match "the error names the lease end and why it was not renewed" \
  "the lease on machine id ${mid[n1]} ended at .* and has not been renewed" \
  "$(sf_error n1 "SELECT snowflake_next()")"
# The end each node is bound by while the coordination server is away (its own clock's scale).
declare -A outage_end
for node in "${writers[@]}"; do outage_end[$node]=$(sf_psql $node -c "SELECT lease_end FROM snowflake_status()"); done
sleep 1
down_until=$(date -u '+%Y-%m-%d %H:%M:%S.%6N+00')  # nothing could be renewed before this
sf_start coord
for node in "${writers[@]}"; do
  if wait_until $node 15 "SELECT count(*) > 0 FROM events WHERE snowflake_timestamp(id) > '${outage_end[$node]}'"; then
    sf_pass "$node writes again after the coordination server is back"
  else
    sf_fail "$node does not write again: $(sf_psql $node -c "SELECT lease_state, lease_end FROM snowflake_status()")"
  fi
done
for node in n1 n2 clone; do  # clocks not shifted: nothing between the old end and the coordination server's restart
  sf_check "$node issued no ID past its lease end while the coordination server was down" 0 \
    "$(sf_psql $node -c "SELECT count(*) FROM events WHERE snowflake_timestamp(id) > '${outage_end[$node]}'
                                                      AND snowflake_timestamp(id) < '$down_until'")"
done

echo "-- n1 cut off (its lease worker stopped): n3, back and waiting, takes over its id; n1 never issues past its old end"
sf_psql coord -c "INSERT INTO snowflake_lease_settings VALUES (true, '3 seconds')"
sf_start n3
if wait_until n3 20 "SELECT lease_state = 'exhausted' FROM snowflake_status()"; then
  sf_pass "n3 is back and finds no free id"
else
  sf_fail "n3: $(sf_psql n3 -c "SELECT lease_state, machine_id FROM snowflake_status()")"
fi
sf_psql n1 -c "TRUNCATE write_errors"
# The worker has no database connection, so no pg_stat_activity row: found among n1's postmaster's children.
worker1=$(pgrep -P "$(head -1 "$SF_WORK/n1/postmaster.pid")" -f '^postgres: .*snowflake lease worker')
kill -STOP "$worker1"
(sleep 30; kill -CONT "$worker1") >/dev/null 2>&1 &  # never left stopped, whatever happens below
safety=$!
if wait_until n3 20 "$held"; then sf_pass "n3 holds a lease"; else sf_fail "n3 has no lease"; fi
sf_check "n3 took over n1's id, not renewed for 3 s" "${mid[n1]}" "$(leased_id n3)"
n1_end=$(sf_psql n1 -c "SELECT lease_end FROM snowflake_status()")  # frozen since its worker stopped
if wait_until n1 10 "SELECT count(*) > 0 FROM write_errors WHERE sqlstate = 'SF031'"; then
  sf_pass "n1, cut off, fails with SF031 once its lease ends"
else
  sf_fail "n1 has no SF031: $(sf_psql n1 -c "SELECT sqlstate, message FROM write_errors LIMIT 1")"
fi
kill -CONT "$worker1"
kill "$safety" 2>/dev/null || true
if wait_until n1 10 "SELECT lease_state IN ('lost', 'exhausted') FROM snowflake_status()"; then
  sf_pass "n1's next renewal finds its lease taken over"
else
  sf_fail "n1: $(sf_psql n1 -c "SELECT lease_state, machine_id FROM snowflake_status()")"
fi
sf_check_match "n1's log says it stops issuing IDs of that id" \
  "WARNING: +snowflake: the lease on machine id ${mid[n1]} was taken over or released: no more IDs of it" \
  "$(cat "$SF_WORK/n1/server.log")"
sf_check_match "n1's snowflake_next() fails with SF030 (no id left to lease)" "ERROR: +SF030: no machine id is leased" \
  "$(sf_error n1 "SELECT snowflake_next()")"
sf_check "n1 made no ID past the lease end it had" 0 \
  "$(sf_psql n1 -c "SELECT count(*) FROM events WHERE snowflake_timestamp(id) > '$n1_end'")"
start_writer n3
wait_until n3 10 "SELECT count(*) > 0 FROM events WHERE snowflake_machine_id(id) = ${mid[n1]}" || true
writers+=(n3)

echo "-- every row meets in the hub: no duplicate, no conflict"
for node in "${writers[@]}"; do stop_writer $node; done
declare -A written
for node in n1 n2 n3 n4; do written[$node]=$(sf_psql $node -c "SELECT count(*) FROM events"); done
written[clone]=$(sf_psql clone -c "SELECT count(*) FROM events WHERE origin = 'clone'")
caught_up="SELECT bool_and(c) FROM (VALUES
  ((SELECT count(*) FROM events WHERE origin = 'n1') = ${written[n1]}),
  ((SELECT count(*) FROM events WHERE origin = 'n2') = ${written[n2]}),
  ((SELECT count(*) FROM events WHERE origin = 'clone') = ${written[clone]}),
  ((SELECT count(*) FROM events WHERE origin = 'n3') = ${written[n3]}),
  ((SELECT count(*) FROM events WHERE origin = 'n4') = ${written[n4]})) v(c)"
if wait_until hub 60 "$caught_up"; then sf_pass "the hub has every row of n1, n2, n3, the clone and n4"; else
  sf_fail "the hub did not catch up: $(sf_psql hub -c "SELECT origin, count(*) FROM events GROUP BY 1 ORDER BY 1")"; fi
# Publishers that were stopped or killed cost the hub lost connections (08006), nothing else.
sf_check "the hub's log has no ERROR but lost connections to stopped publishers (a duplicate key would be 23505)" 0 \
  "$(grep ' ERROR: ' "$SF_WORK/hub/server.log" | grep -vc ' 08006 ERROR: ' || true)"
sf_check "every subscription is still enabled" 5 "$(sf_psql hub -c "SELECT count(*) FROM pg_subscription WHERE subenabled")"
sf_check "each origin's rows carry its leased id" \
  "clone:${mid[clone]} n1:${mid[n1]} n2:${mid[n2]} n3:${mid[n1]} n3:${mid[n3]} n4:${mid[n4]}" \
  "$(sf_psql hub -c "SELECT string_agg(DISTINCT origin || ':' || snowflake_machine_id(id), ' ' ORDER BY origin || ':' || snowflake_machine_id(id)) FROM events")"
sf_check "n4 starts after n3's last ID: n3's clean stop released its lease at that millisecond ($previous_end)" t \
  "$(sf_psql hub -c "SELECT snowflake_timestamp(max(id)) = '$previous_end' FROM events
                     WHERE origin = 'n3' AND snowflake_machine_id(id) = ${mid[n3]}")"
sf_check "every ID n4 made with n3's old id is above every ID n3 made with it" t \
  "$(sf_psql hub -c "SELECT (SELECT min(id) FROM events WHERE origin = 'n4')
                          > (SELECT max(id) FROM events WHERE origin = 'n3' AND snowflake_machine_id(id) = ${mid[n4]})")"
sf_check "every ID n3 made with n1's id, taken over, is above every ID n1 made" t \
  "$(sf_psql hub -c "SELECT (SELECT min(id) FROM events WHERE origin = 'n3' AND snowflake_machine_id(id) = ${mid[n1]})
                          > (SELECT max(id) FROM events WHERE origin = 'n1')")"
sf_summary
