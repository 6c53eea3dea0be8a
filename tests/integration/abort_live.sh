#!/usr/bin/env bash
# An abort under a live application: it gives way to a lock holder (lock_wait, give_up_after) the
# way the cut-over does instead of queueing every writer behind it, gives up having changed
# nothing, and once it gets through deletes the ID map without holding the tables' locks for it:
# the schema is as before, writers never failed. Prints the writers' longest wait (not asserted).
source "$(dirname "$0")/../lib/servers.sh"
source "$(dirname "$0")/../lib/checks.sh"
sf_workdir
sf_init node "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7" "max_connections = 40"
sf_start node
rows=${ABORT_ROWS:-100000}

sf_psql node <<SQL
CREATE EXTENSION snowflake;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE orders (oid bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts, amount int NOT NULL);
INSERT INTO accounts (created_at) SELECT timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, $rows) n;
INSERT INTO orders (account_id, amount) SELECT id, 1 FROM accounts;
CREATE TABLE app_control (stopped int NOT NULL);
INSERT INTO app_control VALUES (0);
SQL
q() { sf_psql node -c "$1"; }
schema() { q "SELECT string_agg(format('%s.%s %s %s', attrelid::regclass, attname, format_type(atttypid, atttypmod), attnotnull), ', ' ORDER BY attrelid::regclass::text, attnum)
              FROM pg_attribute WHERE attrelid IN ('accounts'::regclass, 'orders'::regclass) AND attnum > 0 AND NOT attisdropped"; }
before=$(schema)
q "SELECT snowflake_migration_start('accounts')" >/dev/null 2>&1 || sf_fail "start"
q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 50000)" >/dev/null 2>&1 || sf_fail "backfill"
sf_check "the ID map numbers every account" "$rows" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_map")"

# Writers: an account and its order per transaction, latency of each logged.
cat >"$SF_WORK/app.sql" <<'SQL'
WITH a AS (INSERT INTO accounts DEFAULT VALUES RETURNING id) INSERT INTO orders (account_id, amount) SELECT id, 2 FROM a;
SQL
chmod 644 "$SF_WORK/app.sql"
(cd "$SF_WORK" && sf_as_pg pgbench -n -h "$SF_WORK/node" -U postgres -c 3 -j 1 -T ${ABORT_BENCH_SECONDS:-15} -l --log-prefix="$SF_WORK/lat" -f "$SF_WORK/app.sql" postgres \
  >"$SF_WORK/pgbench.log" 2>&1) &
bench=$!
sleep 1
# A report that reads accounts in a long transaction: a lock holder the abort must not queue writers behind.
PGAPPNAME=holder sf_psql node -c "BEGIN; SELECT count(*) FROM accounts; SELECT pg_sleep(600); COMMIT;" >/dev/null 2>&1 &
holder=$!
for i in $(seq 1 100); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'holder' AND query LIKE '%pg_sleep(600)%'")" = 1 ] && break
  sleep 0.1
done
out=$(q "SELECT snowflake_migration_abort('accounts', lock_wait => '50 ms', give_up_after => '1 s')" 2>&1) || true
sf_check_match "the abort gives up behind the lock holder (55P03)" "could not take the locks of public.accounts within 00:00:01" "$out"
sf_check "having changed nothing: the map and the twins are there" "$rows|t" \
  "$(q "SELECT (SELECT count(*) FROM snowflake_internal.snowflake_migration_map), EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'account_id_snowflake' AND NOT attisdropped)")"
# Again, with time to wait: it gives way while the holder is there and goes through once it is gone.
(q "SELECT snowflake_migration_abort('accounts', lock_wait => '50 ms', give_up_after => '2 min')" >"$SF_WORK/abort.out" 2>&1; echo $? >"$SF_WORK/abort.rc") &
aborter=$!
for i in $(seq 1 600); do grep -q "gave way" "$SF_WORK/abort.out" 2>/dev/null && break; sleep 0.1; done
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder'" >/dev/null
wait "$aborter"
wait "$holder" 2>/dev/null || true
out=$(cat "$SF_WORK/abort.out")
[ "$(cat "$SF_WORK/abort.rc")" = 0 ] && sf_pass "the abort went through once the holder was gone" || sf_fail "abort: $out"
sf_check_match "it gave way to the holder meanwhile" "gave way to other transactions" "$out"
wait "$bench" || true
sf_check "no writer failed" "0" "$(grep -ciE 'error|aborted' "$SF_WORK/pgbench.log" || true)"
sf_check "the schema is as before" "$before" "$(schema)"
sf_check "no state left: migration, steps, map" "0|0|0" \
  "$(q "SELECT (SELECT count(*) FROM snowflake_internal.snowflake_migration), (SELECT count(*) FROM snowflake_internal.snowflake_migration_step), (SELECT count(*) FROM snowflake_internal.snowflake_migration_map)")"
sf_check "the backfill's IDs stay taken" "1" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_lane WHERE relation = 'public.accounts'")"
max_ms=$(cat "$SF_WORK"/lat* 2>/dev/null | awk '{ if ($3 > m) m = $3 } END { printf "%d", m / 1000 }')
echo "  writers' longest transaction during the test: ${max_ms} ms ($rows rows in the map; not asserted)"
sf_summary
