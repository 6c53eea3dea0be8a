-- Code and applications over the key: PL/pgSQL triggers that write the key into a uuid column of
-- another table are named by the dry run and refused by the start; snowflake_migration_key()
-- finds a row by the key an application holds (an old uuid or the current key), before and after
-- the cut-over, from statements prepared before it.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

CREATE ROLE app;
CREATE SCHEMA audit;
CREATE TABLE accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now(), name text NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, account_id uuid NOT NULL REFERENCES accounts, amount integer);
CREATE DOMAIN audit.ref AS uuid;
CREATE TABLE audit.log (at timestamptz DEFAULT now(), row_id uuid, ref audit.ref, op text, row_text text);
CREATE TABLE audit.orders_seen (account_id uuid);
INSERT INTO accounts (id, created_at, name) VALUES
    ('00000000-0000-4000-8000-000000000001', '2030-06-01 00:00:00.001+00', 'one'),
    ('00000000-0000-4000-8000-000000000002', '2030-06-01 00:00:00.002+00', 'two');
INSERT INTO orders (account_id, amount) SELECT id, 10 FROM accounts;

-- ---- Triggers that write the key into uuid columns of other tables ----
-- Found: a column list; a list-less INSERT (by position) on the function's own search_path; a
-- domain over uuid; INSERT ... SELECT; UPDATE ... SET; a quoted, mixed-case trigger body.
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit.log (row_id, op) VALUES (NEW.id, TG_OP);  -- the issue's audit trigger
    INSERT INTO audit.log (op, ref) VALUES (E'it\'s (', NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_row AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit_row();
CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql SET search_path = audit, public AS $$
BEGIN
    INSERT INTO log VALUES (now(), NEW.account_id);
    INSERT INTO "audit"."log" (REF) SELECT coalesce(NEW.account_id, OLD.account_id);
    UPDATE audit.orders_seen s SET account_id = NEW."account_id" WHERE s.account_id IS NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_order AFTER INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION audit_order();
-- Not found, rightly: the value written as text; the key only in a comment or a string; a write
-- into a column the migration changes itself (orders.account_id becomes bigint too).
CREATE FUNCTION audit_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- INSERT INTO audit.log (row_id) VALUES (NEW.id);
    INSERT INTO audit.log (row_text, op) VALUES (NEW.id::text, 'INSERT INTO audit.log (row_id) VALUES (NEW.id)');
    INSERT INTO orders (account_id, amount) VALUES (NEW.id, 0);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_text AFTER INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION audit_text();
SELECT target, status FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' ORDER BY target;
SELECT snowflake_migration_start('accounts');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS twins FROM pg_attribute WHERE attname LIKE '%\_snowflake' AND attrelid IN ('accounts'::regclass, 'orders'::regclass);
-- Not found (docs/migration.md says so): a value passed through a variable, or dynamic SQL.
DROP TRIGGER audit_row ON accounts;
DROP TRIGGER audit_order ON orders;
CREATE OR REPLACE FUNCTION audit_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v audit.log.row_id%TYPE := NEW.id;
BEGIN
    INSERT INTO audit.log (row_id) VALUES (v);
    EXECUTE 'INSERT INTO audit.log (row_id) VALUES ($1)' USING NEW.id;
    RETURN NEW;
END $$;
SELECT target, status FROM snowflake_migration_plan('accounts') WHERE phase = 'dependent' ORDER BY target;
DROP TRIGGER audit_text ON accounts;

-- ---- Finding rows by the key an application holds ----
GRANT SELECT (id, name), INSERT (name) ON accounts TO app;
GRANT SELECT (id, account_id, amount) ON orders TO app;
RESET ROLE;
SET ROLE app;
PREPARE by_key(text) AS
    SELECT id::text AS id, name FROM accounts WHERE id = snowflake_migration_key('accounts', $1, (NULL::accounts).id);
PREPARE orders_of(text) AS
    SELECT count(*) FROM orders WHERE account_id = snowflake_migration_key('accounts', $1, (NULL::orders).account_id);
PREPARE by_uuid(uuid) AS
    SELECT name FROM accounts WHERE id = snowflake_migration_key('accounts', $1, (NULL::accounts).id);
EXECUTE by_key('00000000-0000-4000-8000-000000000001');
EXECUTE orders_of('00000000-0000-4000-8000-000000000002');
EXECUTE by_uuid('00000000-0000-4000-8000-000000000002');
EXECUTE by_key('12');
\echo :LAST_ERROR_SQLSTATE
-- Through the primary key's index before the cut-over.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) EXECUTE by_key('00000000-0000-4000-8000-000000000001');
RESET enable_seqscan;
RESET ROLE;
SELECT snowflake_migration_start('accounts');
CALL snowflake_migration_backfill('accounts', time_column => 'created_at');
SET ROLE app;
EXECUTE by_key('00000000-0000-4000-8000-000000000001');
RESET ROLE;
SET client_min_messages = warning;
SELECT statement FROM snowflake_migration_plan('accounts') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('accounts');
RESET client_min_messages;
-- The same prepared statements, after the cut-over: the old uuid and the new key both find the row.
SET ROLE app;
EXECUTE by_key('00000000-0000-4000-8000-000000000001');
EXECUTE orders_of('00000000-0000-4000-8000-000000000002');
EXECUTE by_uuid('00000000-0000-4000-8000-000000000002');
SELECT e.id::text = k.id AS new_key_finds_it, e.name
FROM (SELECT id::text AS id FROM accounts WHERE name = 'two') k, LATERAL (SELECT a.id, a.name FROM accounts a
      WHERE a.id = snowflake_migration_key('accounts', k.id, (NULL::accounts).id)) e;
EXECUTE by_key('00000000-0000-4000-8000-00000000000f');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) EXECUTE by_key('00000000-0000-4000-8000-000000000001');
RESET enable_seqscan;
EXECUTE by_key('not a key');
\echo :LAST_ERROR_SQLSTATE
-- Read as the caller: a role without SELECT on the kept uuid column is refused.
RESET ROLE;
REVOKE SELECT (id_uuid) ON accounts FROM app;
SET ROLE app;
EXECUTE by_key('00000000-0000-4000-8000-000000000001');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Without the kept column an old uuid cannot be resolved (a key in its current form still can).
ALTER TABLE orders DROP COLUMN account_id_uuid;
ALTER TABLE accounts DROP COLUMN id_uuid;
SELECT snowflake_migration_key('accounts', '00000000-0000-4000-8000-000000000001', NULL::bigint);
\echo :LAST_ERROR_SQLSTATE
SELECT name FROM accounts WHERE id = snowflake_migration_key('accounts', (SELECT id::text FROM accounts WHERE name = 'one'), (NULL::accounts).id);
CREATE TABLE no_key (id uuid);
SELECT snowflake_migration_key('no_key', '00000000-0000-4000-8000-000000000001', NULL::bigint);
\echo :LAST_ERROR_SQLSTATE

-- ---- Names that need quoting; a planted overload later on the path is never chosen ----
CREATE TABLE "Odd ""Accts""" ("Key" uuid PRIMARY KEY DEFAULT gen_random_uuid(), made timestamptz NOT NULL DEFAULT '2030-07-01');
INSERT INTO "Odd ""Accts""" ("Key") VALUES ('00000000-0000-4000-8000-0000000000aa');
SELECT snowflake_migration_start('"Odd ""Accts"""');
CALL snowflake_migration_backfill('"Odd ""Accts"""', time_column => 'made');
SET client_min_messages = warning;
SELECT statement FROM snowflake_migration_plan('"Odd ""Accts"""') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('"Odd ""Accts"""');
RESET client_min_messages;
RESET ROLE;
CREATE SCHEMA planted AUTHORIZATION app;
SET ROLE app;
CREATE FUNCTION planted.snowflake_migration_key(tbl text, key text, key_type bigint) RETURNS bigint
    LANGUAGE sql AS $$ SELECT 0::bigint $$;
CREATE FUNCTION planted.snowflake_migration_key(tbl text, key text, key_type anyelement) RETURNS anyelement
    LANGUAGE sql AS $$ SELECT NULL::bigint $$;
RESET ROLE;
SET search_path = public, planted;
SELECT snowflake_timestamp("Key") AS made FROM "Odd ""Accts"""
WHERE "Key" = snowflake_migration_key('"Odd ""Accts"""', '00000000-0000-4000-8000-0000000000aa', (NULL::"Odd ""Accts""")."Key");
RESET search_path;
RESET ROLE;
DROP SCHEMA planted CASCADE;
DROP SCHEMA audit CASCADE;
DROP TABLE "Odd ""Accts""", no_key, orders, accounts;
DROP FUNCTION audit_row(), audit_order(), audit_text();
DROP ROLE app;
-- Their records, so that the tests after this one see only their own migrations (the lanes stay,
-- in milliseconds of 2030 that no other test uses).
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation IN ('public.accounts', 'public."Odd ""Accts"""');
DELETE FROM snowflake_internal.snowflake_migration WHERE relation IN ('public.accounts', 'public."Odd ""Accts"""');
