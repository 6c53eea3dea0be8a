#!/usr/bin/env bash
# A shop's schema migrated off uuid keys while its applications run (issue 20): accounts (a column
# comment, column grants to the application's role); orders partitioned by month with PRIMARY KEY
# (id, created_at) referencing accounts ON UPDATE CASCADE; notes referencing orders through
# (order_id, order_created_at); a PL/pgSQL audit trigger and a LANGUAGE sql function over the key;
# a materialized view; a row-level security policy; a view WITH CHECK OPTION; a publication with
# a logical-replication subscriber on a second server. The node-postgres and psycopg applications
# of docs/migration.md ("Applications through the migration", tests/lib/migration_apps.sh) write
# and look rows up by old uuids throughout, while accounts, then orders, then notes migrate, each
# on the subscriber and the publisher by the documented procedure (docs/migration.md#logical-replication).
# Checks: the dry runs list the code, policy, views and comment with what happens to each; no
# application request fails; no row is lost; every reference is intact over the new keys; old
# uuids still find their rows; the subscriber holds the publisher's rows.
# Runs on every major (about 80 s on an idle machine): partitioned tables and logical replication
# differ between them, and only this test replicates a partitioned table.
source "$(dirname "$0")/../lib/migration.sh"
source "$(dirname "$0")/../lib/migration_apps.sh"

sf_apps_install
sf_workdir
sf_init pub "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 7" "wal_level = logical" "max_connections = 40"
sf_init sub "shared_preload_libraries = 'snowflake'" "snowflake.machine_id = 8" "max_connections = 30"
sf_start pub
sf_start sub
p() { sf_psql pub -c "$1"; }
s() { sf_psql sub -c "$1"; }
sf_apps_prepare

# The tables, the same on both servers.
tables="CREATE EXTENSION snowflake;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL UNIQUE,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp());
COMMENT ON COLUMN accounts.id IS 'the account''s key';
$(sf_migration_orders_sql)
CREATE TABLE notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), order_id uuid NOT NULL, order_created_at timestamptz NOT NULL,
                    body text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
                    FOREIGN KEY (order_id, order_created_at) REFERENCES orders (id, created_at) ON DELETE CASCADE);
CREATE INDEX notes_order_idx ON notes (order_id, order_created_at);"
sf_psql sub -c "$tables"
sf_psql pub -c "$tables"
sf_psql pub <<'SQL'
CREATE ROLE app LOGIN;
-- Column grants on accounts, as the issue's application had.
GRANT SELECT (id, name, created_at), INSERT (name) ON accounts TO app;
GRANT SELECT, INSERT ON orders, notes TO app;
-- The audit trigger: PL/pgSQL that writes the key (as text) at every signup.
CREATE TABLE audit_log (tbl text NOT NULL, row_id text NOT NULL, op text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
GRANT INSERT ON audit_log TO app;
CREATE FUNCTION audit_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (tbl, row_id, op) VALUES (TG_TABLE_NAME, NEW.id::text, TG_OP);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_account AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit_account();
-- A LANGUAGE sql function over the key, independent of its type.
CREATE FUNCTION account_total(p_name text) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(o.amount), 0) FROM accounts a JOIN orders o ON o.account_id = a.id WHERE a.name = p_name
$$;
-- A materialized view over the key, a view WITH CHECK OPTION over the reference.
CREATE MATERIALIZED VIEW account_totals AS
    SELECT a.id, a.name, count(o.amount) AS orders, sum(o.amount) AS total FROM accounts a LEFT JOIN orders o ON o.account_id = a.id GROUP BY a.id;
CREATE VIEW big_orders AS SELECT id, created_at, account_id, amount FROM orders WHERE amount >= 100 OR amount < 0 WITH LOCAL CHECK OPTION;
GRANT SELECT ON big_orders TO app;
-- Row-level security: the application sees the notes of orders that exist.
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_of_orders ON notes TO app
    USING (EXISTS (SELECT 1 FROM orders o WHERE o.id = notes.order_id AND o.created_at = notes.order_created_at));
-- Old rows: accounts of January to March 2024, an order in each month's partition for each (negative
-- amounts: the applications' are not), a note on each order.
INSERT INTO accounts (name, created_at)
SELECT 'old-' || lpad(n::text, 5, '0'), timestamptz '2024-01-01 00:00:00+00' + n * interval '1 hour' FROM generate_series(1, 1500) n;
INSERT INTO orders (account_id, amount, created_at)
SELECT id, -(row_number() OVER (ORDER BY name, k))::int, created_at + k * interval '31 days' FROM accounts, generate_series(0, 2) k;
INSERT INTO notes (order_id, order_created_at, body, created_at)
SELECT id, created_at, 'old-' || -amount, created_at FROM orders;
REFRESH MATERIALIZED VIEW account_totals;
CREATE TABLE totals_before AS SELECT name, account_total(name) AS total FROM accounts;
CREATE PUBLICATION shop FOR TABLE accounts, orders, notes;
SQL
s "CREATE SUBSCRIPTION shop CONNECTION 'host=$SF_WORK/pub dbname=postgres user=postgres' PUBLICATION shop"
applied() { echo "SELECT coalesce(max(latest_end_lsn) >= '$1', false) FROM pg_stat_subscription WHERE subname = 'shop'"; }
caught_up() { sf_wait_until sub 60 "$(applied "$(p "SELECT pg_current_wal_lsn()")")"; }
sf_wait_until sub 60 "SELECT count(*) = 6 AND bool_and(srsubstate = 'r') FROM pg_subscription_rel" || sf_fail "the initial copy"
caught_up || sf_fail "the subscriber did not catch up"

sf_apps_start pub app SF_APP_SHOP=1
sf_apps_wait_writes pub 20

# ---- The dry runs: what uses each key, and what happens to it ----
dependent() { p "SELECT status FROM snowflake_migration_plan('$1') WHERE phase = 'dependent' AND target = '$2'"; }
sf_check_match "dry run of accounts: the audit trigger's function, for review" "^review: its source mentions accounts.id" \
  "$(dependent accounts 'function public.audit_account()')"
sf_check_match "dry run of accounts: the sql function, checked by the start" "^checked by the start: its source mentions (accounts.id, orders.account_id|orders.account_id, accounts.id)" \
  "$(dependent accounts 'function public.account_total(text)')"
sf_check_match "dry run of accounts: the materialized view, refused (drop it first, create it after)" "^refused: a materialized view" \
  "$(dependent accounts 'materialized view public.account_totals')"
sf_check_match "dry run of accounts: the view WITH CHECK OPTION, created again at the cut-over" "^carried: created again" \
  "$(dependent accounts 'view public.big_orders')"
sf_check_match "dry run of accounts: the publication, with the subscriber's procedure" "^review: a subscriber's copy" \
  "$(dependent accounts 'publication shop of public.accounts')"
sf_check "dry run of accounts: the key's comment moves to the new column" "COMMENT ON COLUMN public.accounts.id IS 'the account''s key'" \
  "$(p "SELECT statement FROM snowflake_migration_plan('accounts') WHERE phase = 'cutover' AND statement LIKE 'COMMENT ON COLUMN public.accounts.id %'")"
sf_check_match "dry run of orders: the policy, altered onto the bigint columns" "^carried: altered at the cut-over" \
  "$(dependent orders 'policy notes_of_orders on table public.notes')"
sf_check_match "dry run of orders: the view WITH CHECK OPTION, created again at the cut-over" "^carried: created again" \
  "$(dependent orders 'view public.big_orders')"
sf_check_match "the start refuses accounts while the materialized view uses the key" "0A000: .*account_totals" \
  "$(sf_error pub "SELECT snowflake_migration_start('accounts')" | tr '\n' ' ')"
# As the dry run says: dropped before the start, created again after the cut-over.
matview=$(p "SELECT pg_get_viewdef('account_totals')")
policy=$(p "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = 'notes_of_orders'")
p "DROP MATERIALIZED VIEW account_totals"

# migrate TABLE: the procedure of docs/migration.md#logical-replication, the subscriber's side of
# each phase first, the applications writing on the publisher throughout.
migrate() {
  local t=$1 out lsn sub_cutover
  out=$(s "SELECT snowflake_migration_start('$t')" 2>&1) && sf_pass "$t: start on the subscriber" || sf_fail "$t: start on the subscriber: $out"
  sf_check "$t: the subscriber's twin of the key has no default (it numbers no row)" "f" \
    "$(s "SELECT atthasdef FROM pg_attribute WHERE attrelid = '$t'::regclass AND attname = 'id_snowflake'")"
  out=$(p "SELECT snowflake_migration_start('$t')" 2>&1) && sf_pass "$t: start on the publisher" || sf_fail "$t: start on the publisher: $out"
  sf_apps_wait_writes pub 10
  out=$(p "CALL snowflake_migration_backfill('$t', time_column => 'created_at', batch_size => 2000)" 2>&1) \
    && sf_pass "$t: backfill on the publisher" || sf_fail "$t: backfill on the publisher: $out"
  lsn=$(p "SELECT pg_current_wal_lsn()")
  sf_wait_until sub 60 "$(applied "$lsn")" || sf_fail "$t: the subscriber did not apply the backfill"
  out=$(s "CALL snowflake_migration_backfill('$t')" 2>&1) && sf_pass "$t: backfill on the subscriber (constraints only)" \
    || sf_fail "$t: backfill on the subscriber: $out"
  out=$(sf_migration_indexes sub "$t" 2>&1) || sf_fail "$t: indexes on the subscriber: $out"
  out=$(sf_migration_indexes pub "$t" 2>&1) || sf_fail "$t: indexes on the publisher: $out"
  sf_apps_wait_writes pub 10
  sf_psql sub -c "CALL snowflake_migration_cutover('$t', lock_wait => '100 ms', give_up_after => '2 min')" >"$SF_WORK/cutover_$t.log" 2>&1 &
  sub_cutover=$!
  sf_wait_until sub 60 "SELECT subdisableonerr FROM pg_subscription WHERE subname = 'shop'" || sf_fail "$t: the subscriber's cut-over did not reach its wait"
  out=$(p "CALL snowflake_migration_cutover('$t', lock_wait => '100 ms', give_up_after => '2 min')" 2>&1) \
    && sf_pass "$t: cut-over on the publisher while the applications run" || sf_fail "$t: cut-over on the publisher: $out"
  wait "$sub_cutover" && sf_pass "$t: cut-over on the subscriber" || sf_fail "$t: cut-over on the subscriber: $(cat "$SF_WORK/cutover_$t.log")"
  sf_check_match "$t: the subscriber's cut-over waited for the subscription and started it again" \
    "waiting for subscription shop.*subscription shop enabled again" "$(tr '\n' ' ' <"$SF_WORK/cutover_$t.log")"
  sf_apps_wait_writes pub 10
}

migrate accounts
sf_check "the application role reads every column of accounts (SELECT *)" "1500" \
  "$(sf_as_pg psql -h "$SF_WORK/pub" -U app -d postgres -X -q -A -t -c "SELECT count(*) FROM (SELECT * FROM accounts) a WHERE name LIKE 'old-%'" 2>&1)"
p "CREATE MATERIALIZED VIEW account_totals AS $matview"
migrate orders
migrate notes
sf_apps_stop

# ---- What the applications wrote, and every reference ----
for a in node py; do
  sf_check "$a: every account it wrote is there" "$(sf_apps_field $a accounts)" "$(p "SELECT count(*) FROM accounts WHERE name LIKE '$a-%'")"
  sf_check "$a: every note it wrote is there" "$(sf_apps_field $a notes)" "$(p "SELECT count(*) FROM notes WHERE body LIKE '$a-%'")"
  sf_check_match "$a: it wrote notes across the migrations" "^[1-9][0-9]*$" "$(sf_apps_field $a notes)"
done
sf_check "no old row lost" "1500 4500 4500" \
  "$(p "SELECT (SELECT count(*) FROM accounts WHERE name LIKE 'old-%') || ' ' || (SELECT count(*) FROM orders WHERE amount < 0) || ' ' || (SELECT count(*) FROM notes WHERE body LIKE 'old-%')")"
sf_check "keys and references are bigint, in every partition" "accounts.id bigint|notes.id bigint|notes.order_id bigint|orders.account_id bigint|orders.id bigint" \
  "$(p "SELECT string_agg(DISTINCT regexp_replace(c.relname, '_(2024_0.|recent)$', '') || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod), '|')
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attname IN ('id', 'account_id', 'order_id') AND NOT a.attisdropped")"
sf_check "every order is on the account its old uuid named" "0" \
  "$(p "SELECT count(*) FROM orders o LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL OR a.id_uuid IS DISTINCT FROM coalesce(o.account_id_uuid, a.id_uuid)")"
sf_check "every note is on the order its old uuid named" "0" \
  "$(p "SELECT count(*) FROM notes n LEFT JOIN orders o ON (o.id, o.created_at) = (n.order_id, n.order_created_at) WHERE o.id IS NULL OR o.id_uuid IS DISTINCT FROM coalesce(n.order_id_uuid, o.id_uuid)")"
sf_check "the old notes are on their old orders (same amount)" "0" \
  "$(p "SELECT count(*) FROM notes n JOIN orders o ON (o.id, o.created_at) = (n.order_id, n.order_created_at) WHERE n.body LIKE 'old-%' AND n.body <> 'old-' || -o.amount")"
sf_check "the foreign keys, validated, with their actions" \
  "notes_order_id_order_created_at_fkey FOREIGN KEY (order_id, order_created_at) REFERENCES orders(id, created_at) ON DELETE CASCADE true|orders_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id) ON UPDATE CASCADE true" \
  "$(p "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated::text, '|' ORDER BY conname) FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND connamespace = 'public'::regnamespace")"
sf_check "old uuids find their rows by the kept uuid columns' indexes" "accounts_pkey_uuid|notes_pkey_uuid|orders_pkey_uuid" \
  "$(p "SELECT string_agg(indexrelid::regclass::text, '|' ORDER BY indexrelid::regclass::text) FROM pg_index
        WHERE indisvalid AND indexrelid::regclass::text LIKE '%pkey_uuid' AND indexrelid NOT IN (SELECT inhrelid FROM pg_inherits)")"
sf_check "the key's comment is on the new column" "the account's key|" \
  "$(p "SELECT coalesce(col_description('accounts'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id')), '') || '|' || coalesce(col_description('accounts'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id_uuid')), '')")"
sf_check "the application role keeps its column grants on the new key and the kept uuid" "t|t|f" \
  "$(p "SELECT has_column_privilege('app', 'accounts', 'id', 'SELECT'), has_column_privilege('app', 'accounts', 'id_uuid', 'SELECT'), has_table_privilege('app', 'accounts', 'SELECT')")"
sf_check "the audit trigger wrote every account, with bigint keys after the cut-over" "0|t" \
  "$(p "SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM audit_log x WHERE x.row_id = a.id::text) AND NOT EXISTS (SELECT 1 FROM audit_log x WHERE x.row_id = a.id_uuid::text)")|$(p "SELECT count(*) > 0 FROM audit_log WHERE row_id ~ '^[0-9]+$'")"
sf_check "the sql function gives the old accounts' totals" "0" \
  "$(p "SELECT count(*) FROM totals_before b WHERE account_total(b.name) <> b.total")"
sf_check "the view keeps its check option and reads the bigint columns" "{check_option=local}|bigint" \
  "$(p "SELECT reloptions FROM pg_class WHERE oid = 'big_orders'::regclass")|$(p "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'big_orders'::regclass AND attname = 'account_id'")"
sf_check_match "and refuses a row outside it" "44000" "$(sf_error pub "INSERT INTO big_orders (account_id, amount) SELECT id, 5 FROM accounts LIMIT 1")"
sf_check "the policy has its expression, over the bigint columns" "$policy|orders.id bigint|notes.order_id bigint" \
  "$(p "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = 'notes_of_orders'")|$(p "SELECT string_agg(c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod), '|' ORDER BY c.relname DESC)
        FROM pg_policy pol JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid AND d.refobjsubid > 0
        JOIN pg_class c ON c.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE pol.polname = 'notes_of_orders' AND a.attname IN ('id', 'order_id')")"
sf_check "the materialized view, created again, has every account's orders" "0" \
  "$(p "REFRESH MATERIALIZED VIEW account_totals" >/dev/null; p "SELECT count(*) FROM account_totals t JOIN totals_before b USING (name) WHERE t.total IS DISTINCT FROM nullif(b.total, 0) OR t.orders <> 3")"

# ---- The subscriber ----
caught_up || sf_fail "the subscriber did not catch up at the end"
digest="SELECT (SELECT count(*) || ' accounts ' || md5(string_agg(concat_ws(':', id, id_uuid, name, created_at), ',' ORDER BY id)) FROM accounts)
            || (SELECT ', ' || count(*) || ' orders ' || md5(string_agg(concat_ws(':', id, id_uuid, created_at, account_id, account_id_uuid, amount), ',' ORDER BY id)) FROM orders)
            || (SELECT ', ' || count(*) || ' notes ' || md5(string_agg(concat_ws(':', id, id_uuid, order_id, order_id_uuid, order_created_at, body), ',' ORDER BY id)) FROM notes)"
on_pub=$(p "$digest")
sf_check "the subscriber holds the publisher's rows with the publisher's IDs ($on_pub)" "$on_pub" "$(s "$digest")"
sf_check "no ID on the subscriber was made by the subscriber" "0" \
  "$(s "SELECT (SELECT count(*) FROM accounts WHERE snowflake_machine_id(id) = 8) + (SELECT count(*) FROM orders WHERE snowflake_machine_id(id) = 8) + (SELECT count(*) FROM notes WHERE snowflake_machine_id(id) = 8)")"
sf_check "the subscription runs, every table ready; every migration done on both sides" "t|t|done done done|done done done" \
  "$(s "SELECT subenabled FROM pg_subscription WHERE subname = 'shop'")|$(s "SELECT bool_and(srsubstate = 'r') FROM pg_subscription_rel")|$(p "SELECT string_agg(phase, ' ') FROM snowflake_internal.snowflake_migration")|$(s "SELECT string_agg(phase, ' ') FROM snowflake_internal.snowflake_migration")"
sf_summary
