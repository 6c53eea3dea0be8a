#!/usr/bin/env bash
# Migrations through a partitioned table under live writers: accounts (uuid key) referenced by
# orders, partitioned by month with PRIMARY KEY (id, created_at), UNIQUE (account_id, created_at)
# and ON UPDATE CASCADE, referenced by notes through (order_id, order_created_at). Five sessions
# write accounts, orders and notes throughout; an abort of accounts' migration after the index
# phase restores the schema entry by entry, partitions included; then accounts and orders are
# migrated at the same time (orders started before accounts' cut-over), with no failed writer
# transaction, and every reference and the UNIQUE constraint, in every partition, over the new keys.
source "$(dirname "$0")/../lib/migration.sh"
sf_migration_node node 7

{ cat <<'SQL'
CREATE ROLE app LOGIN;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp());
SQL
sf_migration_orders_sql "CONSTRAINT orders_account_at_key UNIQUE (account_id, created_at)"
cat <<'SQL'
CREATE TABLE notes (id bigserial PRIMARY KEY, order_id uuid NOT NULL, order_created_at timestamptz NOT NULL, body text,
                    FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at) ON DELETE CASCADE);
CREATE INDEX notes_order_idx ON notes (order_id, order_created_at);
-- The application's write path: PL/pgSQL that plans its statements once per session.
CREATE FUNCTION app_write(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    acc record;
BEGIN
    INSERT INTO accounts (name) VALUES ('w' || n) RETURNING * INTO acc;
    INSERT INTO orders (account_id, amount) VALUES (acc.id, n);
    UPDATE orders SET amount = amount + 1 WHERE account_id = acc.id;
    INSERT INTO notes (order_id, order_created_at, body) SELECT id, created_at, 'w' FROM orders WHERE account_id = acc.id;
END $$;
GRANT SELECT, INSERT, UPDATE ON accounts, orders, notes TO app;
GRANT USAGE ON SEQUENCE notes_id_seq TO app;
INSERT INTO accounts (name, created_at)
SELECT 'a' || n, timestamptz '2024-01-01 00:00:00+00' + n * interval '3 minutes' FROM generate_series(1, 20000) n;
-- Old orders in every month's partition, a few for each account.
INSERT INTO orders (account_id, amount, created_at)
SELECT id, k, created_at + k * interval '20 days' FROM accounts, generate_series(0, 2) k;
INSERT INTO notes (order_id, order_created_at, body) SELECT id, created_at, 'old' FROM orders;
SQL
} | sf_psql node

sf_writers_setup node
schema_before=$(sf_schema_listing node)

# Five sessions: an account and its order through app_write(); an order for an existing account
# with INSERT ... SELECT (orders locked before accounts); an account and an order in one
# transaction; an old order moved to another amount.
sf_writers_start app node -U app -c 5 -T 900 <<'SQL'
\set n random(1, 1000000)
SELECT app_write(:n);
INSERT INTO orders (account_id, amount)
SELECT a.id, 0 FROM accounts a WHERE a.name = 'a' || (:n % 20000 + 1);
BEGIN;
INSERT INTO accounts (name) VALUES ('t' || :n);
INSERT INTO orders (account_id, amount) SELECT id, 2 FROM accounts WHERE name = 't' || :n;
COMMIT;
UPDATE orders SET amount = amount + 1 WHERE account_id = (SELECT id FROM accounts WHERE name = 'a' || (:n % 20000 + 1));
INSERT INTO notes (order_id, order_created_at, body)
SELECT id, created_at, 'n' FROM orders WHERE account_id IN (SELECT id FROM accounts WHERE name = 't' || :n);
SQL

q() { sf_psql node -c "$1"; }
wait_for() { sf_wait_until node 60 "$1"; }
wait_for "SELECT count(*) > 50 FROM accounts WHERE name LIKE 'w%'" || sf_fail "the application did not start writing"

# ---- Abort after the backfill and the indexes, while the sessions write ----
out=$(q "SELECT snowflake_migration_start('accounts')" 2>&1) || sf_fail "start: $out"
out=$(q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 5000)" 2>&1) \
  || sf_fail "backfill: $out"
sf_check "the backfill filled the twins in every partition" "orders_2024_01|orders_2024_02|orders_2024_03|orders_recent" \
  "$(q "SELECT string_agg(DISTINCT tableoid::regclass::text, '|' ORDER BY tableoid::regclass::text) FROM orders WHERE account_id_snowflake IS NOT NULL")"
out=$(sf_migration_indexes node accounts 2>&1) || sf_fail "index phase: $out"
sf_check "the index phase made the parent's index valid (its partitions' attached)" "t|4" \
  "$(q "SELECT i.indisvalid, (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = i.indexrelid) FROM pg_index i WHERE i.indexrelid = 'orders_account_idx_snowflake'::regclass")"
out=$(q "SELECT snowflake_migration_abort('accounts')" 2>&1) && sf_pass "abort while the sessions write" || sf_fail "abort: $out"
sf_check_lines "the abort restored the schema, partitions included" "$schema_before" "$(sf_schema_listing node)"

# ---- The migration again, to the cut-over; orders' own migration starts before it ----
out=$(q "SELECT snowflake_migration_start('accounts')" 2>&1) || sf_fail "start: $out"
out=$(q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 5000)" 2>&1) \
  && sf_pass "backfill while five sessions write" || sf_fail "backfill: $out"
out=$(q "SELECT snowflake_migration_start('orders')" 2>&1) \
  && sf_pass "orders' migration starts while accounts' is under way" || sf_fail "start of orders: $out"
out=$(q "CALL snowflake_migration_backfill('orders', time_column => 'created_at', batch_size => 5000)" 2>&1) \
  && sf_pass "backfill of orders while five sessions write" || sf_fail "backfill of orders: $out"
out=$(sf_migration_indexes node accounts 2>&1) || sf_fail "index phase: $out"
sf_check "index phase run again: nothing left to do" "" "$(sf_migration_indexes node accounts 2>&1)"
out=$(sf_migration_indexes node orders 2>&1) || sf_fail "index phase of orders: $out"
written_before=$(q "SELECT count(*) FROM orders")
sf_migration_call node "cut-over committed while the sessions write" \
  "CALL snowflake_migration_cutover('accounts', lock_wait => '100 ms', give_up_after => '3 min')"
wait_for "SELECT count(*) > $written_before + 100 FROM orders" || sf_fail "no writes after the cut-over"

# ---- Then orders itself: PRIMARY KEY (id, created_at), referenced by notes (order_id, order_created_at) ----
written_before=$(q "SELECT count(*) FROM notes")
sf_migration_call node "cut-over of orders committed while the sessions write" \
  "CALL snowflake_migration_cutover('orders', lock_wait => '100 ms', give_up_after => '3 min')"
wait_for "SELECT count(*) > $written_before + 100 FROM notes" || sf_fail "no notes written after the cut-over of orders"
sleep 1

sf_writers_stop app
sf_check "no writer transaction failed" "0" "$(sf_writer_errors app)"
sf_check "orders.account_id is bigint, in the parent and every partition" "bigint" \
  "$(q "SELECT string_agg(DISTINCT format_type(a.atttypid, a.atttypmod), ',') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname LIKE 'orders%' AND c.relkind IN ('r', 'p') AND a.attname = 'account_id'")"
sf_check "every order references an account through the bigint key" "0" \
  "$(q "SELECT count(*) FROM orders o LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL")"
sf_check "and it is the account its uuid named" "0" \
  "$(q "SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id WHERE o.account_id_uuid IS DISTINCT FROM a.id_uuid AND o.account_id_uuid IS NOT NULL")"
sf_check "the foreign key is the parent's, with ON UPDATE CASCADE, in every partition" "5|FOREIGN KEY (account_id) REFERENCES accounts(id) ON UPDATE CASCADE" \
  "$(q "SELECT count(*), min(pg_get_constraintdef(oid)) FROM pg_constraint WHERE conname = 'orders_account_id_fkey' AND convalidated")"
sf_check "the parent's index over the reference, and each partition's, read the bigint key" "5" \
  "$(q "SELECT count(*) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE (i.indexrelid = 'orders_account_idx'::regclass OR i.indexrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'orders_account_idx'::regclass))
          AND a.attname = 'account_id' AND a.atttypid = 'bigint'::regtype AND i.indisvalid")"
q "UPDATE accounts SET id = id + 1 WHERE name = 'a1'" >/dev/null
sf_check "ON UPDATE CASCADE reaches its old orders in two partitions" "3" \
  "$(q "SELECT count(*) FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.name = 'a1' AND o.created_at < '2024-04-01'")"
sf_check "orders is keyed by (id, created_at), id bigint, in the parent and every partition" "5|PRIMARY KEY (id, created_at)|bigint" \
  "$(q "SELECT count(*), min(pg_get_constraintdef(k.oid)), min(format_type(a.atttypid, a.atttypmod)) FROM pg_constraint k
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attname = 'id' WHERE k.contype = 'p' AND k.conrelid::regclass::text LIKE 'orders%'")"
sf_check "every note references its order through the bigint key, the order its uuid named" "0" \
  "$(q "SELECT count(*) FROM notes n LEFT JOIN orders o ON (o.id, o.created_at) = (n.order_id, n.order_created_at)
        WHERE o.id IS NULL OR o.id_uuid IS DISTINCT FROM coalesce(n.order_id_uuid, o.id_uuid)")"
sf_check "notes' foreign key is validated, on the bigint key" "t|FOREIGN KEY (order_id, order_created_at) REFERENCES orders(id, created_at) ON DELETE CASCADE" \
  "$(q "SELECT convalidated, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'notes'::regclass AND contype = 'f' AND conparentid = 0")"
sf_check "UNIQUE (account_id, created_at) is a constraint on the bigint reference, in the parent and every partition" \
  "5|5|UNIQUE (account_id, created_at)|bigint" \
  "$(q "SELECT count(*), count(*) FILTER (WHERE i.indisvalid), min(pg_get_constraintdef(k.oid)), min(format_type(a.atttypid, a.atttypmod))
        FROM pg_constraint k JOIN pg_index i ON i.indexrelid = k.conindid JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        WHERE k.contype = 'u' AND (k.conname = 'orders_account_at_key' OR k.conparentid = (SELECT oid FROM pg_constraint WHERE conname = 'orders_account_at_key'))")"
sf_check "... and the old one keeps the uuids unique, as orders_account_at_key_uuid" "5|UNIQUE (account_id_uuid, created_at)" \
  "$(q "SELECT count(*), min(pg_get_constraintdef(k.oid)) FROM pg_constraint k WHERE k.contype = 'u' AND k.conindid IN
        (SELECT 'orders_account_at_key_uuid'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'orders_account_at_key_uuid'::regclass)")"
sf_check "lookups by the old order uuid have their index, in every partition" "t|4" \
  "$(q "SELECT i.indisvalid, (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = i.indexrelid) FROM pg_index i WHERE i.indexrelid = 'orders_pkey_uuid'::regclass")"
sf_check "the ID maps were emptied" "0" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_map")"
sf_summary
