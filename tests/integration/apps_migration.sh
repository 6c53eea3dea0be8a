#!/usr/bin/env bash
# Applications through a migration (docs/migration.md, "Applications through the migration"): a
# node-postgres application (a pool, named prepared statements) and a psycopg 3 one (statements
# prepared by the server from their first execution), both written as the page says, write and
# look rows up by their keys and by old uuids from before the dry run to after the cut-over. Every
# error either application sees is counted (none may happen), every answer checked; the page's
# code blocks are what they run. The application role has column grants only. An audit trigger that
# writes the key into a uuid column is refused by the dry run and the start until that column is text.
# The applications and what they need: tests/lib/migration_apps.sh (installs what it lacks).
# Runs on the first major of a matrix: the drivers see nothing that differs between majors.
source "$(dirname "$0")/../lib/migration.sh"
source "$(dirname "$0")/../lib/migration_apps.sh"

sf_first_major_only

sf_apps_install
sf_migration_node p 517
q() { sf_psql p -c "$1"; }
sf_apps_prepare

sf_psql p <<'SQL'
CREATE ROLE app LOGIN;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL UNIQUE,
                       created_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE orders (oid bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts, amount int NOT NULL);
CREATE INDEX ON orders (account_id);
CREATE TABLE notes (nid bigserial PRIMARY KEY, account_id uuid REFERENCES accounts ON DELETE CASCADE, body text);
-- An audit trigger writing the key into a uuid column: the dry run must name it (fixed below).
CREATE TABLE account_audit (row_id uuid, op text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION audit_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_audit (row_id, op) VALUES (NEW.id, TG_OP);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_account AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit_account();
GRANT INSERT ON account_audit TO app;
-- Column grants only, as the issue's application had: the key's reach the new columns.
GRANT SELECT (id, name, created_at), INSERT (name) ON accounts TO app;
GRANT SELECT, INSERT ON orders, notes TO app;
GRANT USAGE ON SEQUENCE orders_oid_seq, notes_nid_seq TO app;
INSERT INTO accounts (name, created_at)
SELECT 'old-' || lpad(n::text, 5, '0'), timestamptz '2024-03-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, 2000) n;
INSERT INTO orders (account_id, amount) SELECT id, 1 FROM accounts;
INSERT INTO notes (account_id, body) SELECT id, name FROM accounts WHERE name LIKE '%0';
SQL

# Both applications log in as app.
sf_apps_start p app
sf_apps_wait_writes p 30

sf_check_match "dry run: the audit trigger that writes the key into a uuid column is refused" \
  "^refused: as a trigger it writes NEW.id into public.account_audit.row_id \(uuid\);" \
  "$(q "SELECT status FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' AND target = 'function public.audit_account()'")"
sf_check_match "and so is the start, naming it" "0A000: objects that use the key .*function public.audit_account\(\): refused" \
  "$(sf_error p "SELECT snowflake_migration_start('accounts')" | tr '\n' ' ')"
# The fix the refusal names: the audit column as text (the trigger then writes the key as text).
q "ALTER TABLE account_audit ALTER COLUMN row_id TYPE text"
sf_check "dry run: nothing refused" "" \
  "$(q "SELECT string_agg(target || ': ' || status, '; ') FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' AND status LIKE 'refused%'")"
out=$(q "SELECT snowflake_migration_start('accounts')" 2>&1) && sf_pass "start while both applications run" || sf_fail "start: $out"
sf_check "the application role reads every column during the migration (SELECT *)" "2000" \
  "$(sf_as_pg psql -h "$SF_WORK/p" -U app -d postgres -X -q -A -t -c "SELECT count(*) FROM (SELECT * FROM accounts) a WHERE name LIKE 'old-%'" 2>&1)"
sf_apps_wait_writes p 30
out=$(q "CALL snowflake_migration_backfill('accounts', time_column => 'created_at', batch_size => 2000)" 2>&1) \
  && sf_pass "backfill while both applications run" || sf_fail "backfill: $out"
sf_migration_indexes p accounts >/dev/null
sf_apps_wait_writes p 30
out=$(q "CALL snowflake_migration_cutover('accounts', lock_wait => '100 ms', give_up_after => '2 min')" 2>&1) \
  && sf_pass "cut-over while both applications run" || sf_fail "cut-over: $out"
sf_apps_wait_writes p 60
sf_apps_stop
sf_check "the audit trigger wrote every account, with bigint keys after the cut-over" "0 t" \
  "$(q "SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM account_audit x WHERE x.row_id IN (a.id::text, a.id_uuid::text))") $(q "SELECT count(*) > 0 FROM account_audit WHERE row_id ~ '^[0-9]+$'")"
sf_check "every order references its account through the bigint key" "bigint 0" \
  "$(q "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'account_id'") $(q "SELECT count(*) FROM orders o LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL")"
sf_check "the application role keeps its column grants on the new key and the kept uuid" "t t f" \
  "$(q "SELECT has_column_privilege('app', 'accounts', 'id', 'SELECT'), has_column_privilege('app', 'accounts', 'id_uuid', 'SELECT'), has_table_privilege('app', 'accounts', 'SELECT')" | tr '|' ' ')"
sf_summary
