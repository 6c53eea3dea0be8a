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

-- ---- Backfilled IDs never repeat across tables: two tables with the same times ----
-- Parent and child rows written in one transaction share now(); each backfill takes other slots.
CREATE TABLE shop_a (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL);
CREATE TABLE shop_b (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL);
INSERT INTO shop_a (created_at) SELECT timestamptz '2024-06-01 00:00:00+00' + (n % 7) * interval '1 ms' FROM generate_series(1, 3000) n;
INSERT INTO shop_b (created_at) SELECT created_at FROM shop_a;
SELECT snowflake_migration_start('shop_a');
SELECT snowflake_migration_start('shop_b');
CALL snowflake_migration_backfill('shop_a', time_column => 'created_at');
CALL snowflake_migration_backfill('shop_b', time_column => 'created_at');
SELECT (SELECT count(*) FROM shop_a a JOIN shop_b b ON b.id_snowflake = a.id_snowflake) AS ids_in_both,
       (SELECT count(*) FROM shop_a WHERE snowflake_timestamp(id_snowflake) <> created_at) + (SELECT count(*) FROM shop_b WHERE snowflake_timestamp(id_snowflake) <> created_at) AS not_at_their_time;
SELECT relation, ms, slots FROM snowflake_migration_lane WHERE relation LIKE 'public.shop%' ORDER BY relation;
-- A third table in those milliseconds whose rows no longer fit in the reserved machine id:
-- refused before anything is written, with the free slots and the way out.
CREATE TABLE shop_c (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL);
INSERT INTO shop_c (created_at) SELECT created_at FROM shop_a, generate_series(1, 9);
SELECT snowflake_migration_start('shop_c');
CALL snowflake_migration_backfill('shop_c', time_column => 'created_at');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_backfill('shop_c', time_column => 'created_at', backfill_machine_ids => '[1021,1022]');
SELECT count(DISTINCT id_snowflake) AS distinct_ids, min(snowflake_machine_id(id_snowflake)) AS lo, max(snowflake_machine_id(id_snowflake)) AS hi FROM shop_c;
-- The lanes prove it: no two overlap (the exclusion constraint), and a role records none for a table it does not own.
SET ROLE clerk;
INSERT INTO snowflake_migration_lane (relation, ms, slots) VALUES ('public.shop_a', '[0,1000000000000)', '[0,4194304)');
RESET ROLE;
\set VERBOSITY terse
INSERT INTO snowflake_migration_lane (relation, ms, slots) VALUES ('public.shop_a', '[0,1000000000000)', '[0,4194304)');
\set VERBOSITY default
SET client_min_messages = warning;
SELECT snowflake_migration_abort(t) FROM unnest(ARRAY['shop_a', 'shop_b', 'shop_c']::regclass[]) t;
-- Their IDs stay taken after the abort: they may have been seen.
SELECT count(*) AS lanes_kept FROM snowflake_migration_lane WHERE relation LIKE 'public.shop%';
DROP TABLE shop_a, shop_b, shop_c, items, accts;
RESET client_min_messages;
