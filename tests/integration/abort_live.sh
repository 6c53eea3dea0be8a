#!/usr/bin/env bash
# An abort under a live application: it gives way to a lock holder (lock_wait, give_up_after) the
# way the cut-over does instead of queueing every writer behind it, gives up having changed
# nothing, and once it gets through deletes the ID map without holding the tables' locks for it:
# the schema is as before, writers never failed. Prints the writers' longest wait (not asserted).
source "$(dirname "$0")/../lib/migration.sh"
sf_migration_node node 7
rows=${ABORT_ROWS:-100000}

sf_psql node <<SQL
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE orders (oid bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts, amount int NOT NULL);
INSERT INTO accounts (created_at) SELECT timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, $rows) n;
INSERT INTO orders (account_id, amount) SELECT id, 1 FROM accounts;
SQL
q() { sf_psql node -c "$1"; }
before=$(sf_schema_listing node accounts orders)
q "SELECT snowflake_migration_start('accounts')" >/dev/null 2>&1 || sf_fail "start"
q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 50000)" >/dev/null 2>&1 || sf_fail "backfill"
sf_check "the ID map numbers every account" "$rows" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_map")"

# Writers: an account and its order per transaction, latency of each logged.
sf_writers_start app node -c 3 -T "${ABORT_BENCH_SECONDS:-15}" -l <<'SQL'
WITH a AS (INSERT INTO accounts DEFAULT VALUES RETURNING id) INSERT INTO orders (account_id, amount) SELECT id, 2 FROM a;
SQL
sleep 1
# A report that reads accounts in a long transaction: a lock holder the abort must not queue writers behind.
sf_lock_holder node holder accounts 600
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
wait "$SF_HOLDER_JOB" 2>/dev/null || true
out=$(cat "$SF_WORK/abort.out")
[ "$(cat "$SF_WORK/abort.rc")" = 0 ] && sf_pass "the abort went through once the holder was gone" || sf_fail "abort: $out"
sf_check_match "it gave way to the holder meanwhile" "gave way to other transactions" "$out"
sf_writers_wait app
sf_check "no writer failed" "0" "$(sf_writer_errors app)"
sf_check_lines "the schema is as before" "$before" "$(sf_schema_listing node accounts orders)"
sf_check "no state left: migration, steps, map" "0|0|0" \
  "$(q "SELECT (SELECT count(*) FROM snowflake_internal.snowflake_migration), (SELECT count(*) FROM snowflake_internal.snowflake_migration_step), (SELECT count(*) FROM snowflake_internal.snowflake_migration_map)")"
sf_check "the backfill's IDs stay taken" "1" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_lane WHERE relation = 'public.accounts'")"
echo "  writers' longest transaction during the test: $(sf_writer_longest_ms app) ms ($rows rows in the map; not asserted)"
sf_summary
