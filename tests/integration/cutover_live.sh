#!/usr/bin/env bash
# The cut-over under a live application: five sessions that were connected (and had planned their
# PL/pgSQL statements) before the cut-over keep writing after it without an error; a writer that
# locks the referencing table before the referenced one does not stall the cut-over into a
# deadlock; a view and a row-level security policy over the key follow it to the bigint column; a
# UNIQUE constraint stays a constraint with its name; lookups by the old uuid stay index scans.
source "$(dirname "$0")/../lib/migration.sh"
sf_migration_node node 7

sf_psql node <<'SQL'
CREATE ROLE app LOGIN;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), region text NOT NULL,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp(), UNIQUE (id, region));
CREATE TABLE orders (oid bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts, region text NOT NULL,
                     amount int NOT NULL,
                     FOREIGN KEY (account_id, region) REFERENCES accounts (id, region) DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX ON orders (account_id);
CREATE TABLE order_audit (oid bigint, account_id text, at timestamptz DEFAULT clock_timestamp());
-- Audit trigger in PL/pgSQL: its INSERT is planned once per session with NEW.account_id's type.
CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_audit (oid, account_id) VALUES (NEW.oid, NEW.account_id);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_order AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_order();
-- The application's write path: PL/pgSQL that plans its statements once per session.
CREATE FUNCTION app_write(n int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    acc record;
BEGIN
    INSERT INTO accounts (region) VALUES ('r' || n % 3) RETURNING * INTO acc;
    INSERT INTO orders (account_id, region, amount) VALUES (acc.id, acc.region, n);
    UPDATE orders SET amount = amount + 1 WHERE account_id = acc.id;
    PERFORM 1 FROM accounts WHERE id = acc.id AND region = acc.region;
END $$;
-- A view grouped by the key (it depends on the primary key) and a policy over the reference.
CREATE VIEW account_totals AS
    SELECT a.id, a.region, count(o.oid) AS orders, sum(o.amount) AS amount
    FROM accounts a LEFT JOIN orders o ON o.account_id = a.id GROUP BY a.id;
GRANT SELECT ON account_totals TO app;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY app_orders ON orders TO app
    USING (account_id IN (SELECT id FROM accounts)) WITH CHECK (account_id IN (SELECT id FROM accounts));
GRANT SELECT, INSERT, UPDATE ON accounts, orders, order_audit TO app;
GRANT USAGE ON SEQUENCE orders_oid_seq TO app;
INSERT INTO accounts (region, created_at)
SELECT 'r' || n % 3, timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, 20000) n;
INSERT INTO orders (account_id, region, amount) SELECT id, region, 1 FROM accounts, generate_series(1, 2);
SQL

# Five sessions of the application, connected once (-C is not given) and kept through the cut-over:
# an account and its order through app_write(); an order for an existing account with INSERT ...
# SELECT, which locks orders before accounts (the order that deadlocks with a cut-over that locks
# accounts first and then waits for orders); an account and an order in one transaction.
audit_seeded=$(sf_psql node -c "SELECT count(*) FROM order_audit")
sf_writers_start app node -U app -c 5 -T 600 <<'SQL'
\set n random(1, 1000000)
SELECT app_write(:n);
INSERT INTO orders (account_id, region, amount)
SELECT a.id, a.region, 0 FROM accounts a WHERE a.id = (SELECT account_id FROM orders WHERE oid = (SELECT max(oid) FROM orders));
BEGIN;
INSERT INTO accounts (region) VALUES ('r0');
INSERT INTO orders (account_id, region, amount)
SELECT id, region, 2 FROM accounts WHERE region = 'r0' ORDER BY created_at DESC LIMIT 1;
COMMIT;
SQL

q() { sf_psql node -c "$1"; }
wait_for() { sf_wait_until node 60 "$1"; }
# The seeded orders are audited too: 50 more (pgbench connects every session before its first transaction).
wait_for "SELECT count(*) > $audit_seeded + 50 FROM order_audit" || sf_fail "the application did not start writing"
sessions_before=$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE usename = 'app'")
sf_check_match "five application sessions connected before the migration" "^[0-9]+(,[0-9]+){4}$" "$sessions_before"

# The dry run names the view and the policy, and what the cut-over does to them.
sf_check "dry run: the view is carried" "carried" \
  "$(q "SELECT split_part(status, ':', 1) FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' AND target = 'view public.account_totals'")"
sf_check "dry run: the policy is carried" "carried" \
  "$(q "SELECT split_part(status, ':', 1) FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' AND target LIKE 'policy app_orders%'")"

out=$(q "SELECT snowflake_migration_start('accounts')" 2>&1) || sf_fail "start: $out"
out=$(q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 5000)" 2>&1) \
  && sf_pass "backfill while five sessions write" || sf_fail "backfill: $out"
out=$(sf_migration_indexes node accounts 2>&1) || sf_fail "index step: $out"
# Step 4a of docs/migration.md again: nothing left to run, no error.
out=$(sf_migration_indexes node accounts 2>&1) && sf_check "index step run twice: nothing left to do" "" "$out" || sf_fail "index step again: $out"
audit_before=$(q "SELECT count(*) FROM order_audit")
sf_migration_call node "cut-over committed while the sessions write" \
  "CALL snowflake_migration_cutover('accounts', lock_wait => '100 ms', give_up_after => '2 min')"
wait_for "SELECT count(*) > $audit_before + 100 FROM order_audit" || sf_fail "no writes after the cut-over"
sleep 1

sf_writers_quiet node
sessions_after=$(q "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE usename = 'app'")
sf_writers_stop app

sf_check "the same five sessions wrote before and after the cut-over" "$sessions_before" "$sessions_after"
sf_check "no application transaction failed (no 'type of parameter' error, no deadlock)" "0" \
  "$(sf_writer_errors app)"
sf_check_match "those sessions' PL/pgSQL wrote bigint keys after the cut-over" "^[1-9][0-9]*$" \
  "$(q "SELECT count(*) FROM order_audit WHERE at > (SELECT cut_over_at FROM snowflake_internal.snowflake_migration) AND account_id ~ '^[0-9]+$'")"
sf_check "and no uuid after it" "0" \
  "$(q "SELECT count(*) FROM order_audit a JOIN orders o ON o.oid = a.oid WHERE a.account_id !~ '^[0-9]+$' AND o.account_id_uuid IS NULL")"
sf_check "every order references an account through the bigint key" "0" \
  "$(q "SELECT count(*) FROM orders o LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL")"
sf_check "the view reads the bigint key" "bigint" \
  "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'account_totals'::regclass AND attname = 'id'")"
sf_check "the view keeps its grant" "t" "$(q "SELECT has_table_privilege('app', 'account_totals', 'SELECT')")"
sf_check "the view's totals agree with the orders" "0" \
  "$(q "SELECT count(*) FROM account_totals t WHERE t.orders <> (SELECT count(*) FROM orders o WHERE o.account_id = t.id)")"
sf_check "the policy uses the bigint column" "account_id|bigint" \
  "$(q "SELECT DISTINCT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_policy p JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE p.polname = 'app_orders' AND d.refobjid = 'orders'::regclass")"
sf_check "UNIQUE (id, region) is still a constraint with its name, on the bigint key" "u|UNIQUE (id, region)" \
  "$(q "SELECT contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'accounts_id_region_key'")"
sf_check "ON CONFLICT ON CONSTRAINT works after the cut-over" "0" \
  "$(q "WITH x AS (INSERT INTO accounts (id, region) SELECT id, region FROM accounts LIMIT 1
                  ON CONFLICT ON CONSTRAINT accounts_id_region_key DO NOTHING RETURNING 1) SELECT count(*) FROM x" 2>&1)"
uuid=$(q "SELECT id_uuid FROM accounts WHERE id_uuid IS NOT NULL LIMIT 1")
sf_check_match "a lookup by the old uuid is an index scan" "Index (Only )?Scan using accounts_pkey_uuid" \
  "$(q "SET enable_seqscan = off; EXPLAIN SELECT id FROM accounts WHERE id_uuid = '$uuid'" | head -1)"
sf_check "the uuid lookup index is unique" "t" "$(q "SELECT indisunique FROM pg_index WHERE indexrelid = 'accounts_pkey_uuid'::regclass")"
sf_check "the ID map was emptied" "0" "$(q "SELECT count(*) FROM snowflake_internal.snowflake_migration_map")"
sf_summary
