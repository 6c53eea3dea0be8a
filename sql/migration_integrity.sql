-- Integrity of a migration: twins are always what the uuid columns say (the fill trigger computes
-- them whatever a writer sets; the cut-over proves them and names the rows that are not);
-- column privileges of the key reach the twins at the start; the key's comment moves with it.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

CREATE TABLE accts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL, name text NOT NULL);
COMMENT ON COLUMN accts.id IS 'the account';
CREATE TABLE items (iid bigserial PRIMARY KEY, acct_id uuid REFERENCES accts, label text);
INSERT INTO accts VALUES ('00000000-0000-4000-8000-000000000001', '2024-06-01 00:00:00.001+00', 'one'),
                         ('00000000-0000-4000-8000-000000000002', '2024-06-01 00:00:00.002+00', 'two'),
                         ('00000000-0000-4000-8000-000000000003', '2024-06-01 00:00:00.003+00', 'three');
INSERT INTO items (acct_id, label) SELECT id, name || ' item' FROM accts;
-- A clerk with column grants only: every column of accts readable, items writable.
CREATE ROLE clerk;
GRANT SELECT (id, created_at, name) ON accts TO clerk;
GRANT SELECT, UPDATE ON items TO clerk;

SELECT snowflake_migration_start('accts');
-- The clerk still reads every column (the twin has the key's grants).
SET ROLE clerk;
SELECT count(*) FROM (SELECT * FROM accts) a;
RESET ROLE;
CALL snowflake_migration_backfill('accts', time_column => 'created_at');
-- A writer that sets a twin to another parent's new id: the trigger writes what the uuid says.
SET ROLE clerk;
UPDATE items SET acct_id_snowflake = (SELECT id_snowflake FROM accts WHERE name = 'three') WHERE label = 'one item';
UPDATE items SET label = 'one item' WHERE label = 'one item';
RESET ROLE;
SELECT i.label, i.acct_id_snowflake = a.id_snowflake AS twin_is_parents FROM items i JOIN accts a ON a.id = i.acct_id ORDER BY i.iid;
-- Past the trigger (replication apply runs no triggers): the cut-over refuses, naming the row.
SET session_replication_role = replica;
UPDATE items SET acct_id_snowflake = (SELECT id_snowflake FROM accts WHERE name = 'three') WHERE label = 'two item';
RESET session_replication_role;
SELECT statement FROM snowflake_migration_plan('accts') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('accts');
\echo :LAST_ERROR_SQLSTATE
SELECT phase FROM snowflake_migration WHERE relation = 'public.accts';
-- The hint's statement computes the twins again; then the cut-over goes through.
UPDATE public.items c SET acct_id_snowflake = NULL WHERE c.acct_id_snowflake IS DISTINCT FROM (SELECT p.id_snowflake FROM public.accts p WHERE p.id = c.acct_id);
CALL snowflake_migration_cutover('accts');
SELECT a.name, i.label FROM items i JOIN accts a ON a.id = i.acct_id ORDER BY i.iid;
-- The comment went with the key; the clerk reads every column of the new key.
SELECT col_description('accts'::regclass, 1) AS id_uuid_comment,
       col_description('accts'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'accts'::regclass AND attname = 'id')) AS id_comment;
SET ROLE clerk;
SELECT name, id IS NOT NULL AS has_id, id_uuid FROM accts ORDER BY id;
RESET ROLE;
