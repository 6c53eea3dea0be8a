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
SELECT phase FROM snowflake_internal.snowflake_migration WHERE relation = 'public.accts';
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
SELECT relation, ms, slots FROM snowflake_internal.snowflake_migration_lane WHERE relation LIKE 'public.shop%' ORDER BY relation;
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
INSERT INTO snowflake_internal.snowflake_migration_lane (relation, ms, slots) VALUES ('public.shop_a', '[0,1000000000000)', '[0,4194304)');
RESET ROLE;
\set VERBOSITY terse
INSERT INTO snowflake_internal.snowflake_migration_lane (relation, ms, slots) VALUES ('public.shop_a', '[0,1000000000000)', '[0,4194304)');
\set VERBOSITY default
SET client_min_messages = warning;
SELECT snowflake_migration_abort(t) FROM unnest(ARRAY['shop_a', 'shop_b', 'shop_c']::regclass[]) t;
-- Their IDs stay taken after the abort: they may have been seen.
SELECT count(*) AS lanes_kept FROM snowflake_internal.snowflake_migration_lane WHERE relation LIKE 'public.shop%';
DROP TABLE shop_a, shop_b, shop_c, items, accts;
RESET client_min_messages;

-- ---- Code over the key: the dry run lists it, the start refuses what would break ----
-- The tables' owner is no superuser here: another role's view is not hers to drop and create.
CREATE ROLE shopkeeper;
GRANT CREATE ON SCHEMA public TO shopkeeper, clerk;
SET ROLE shopkeeper;
CREATE TABLE members (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE visits (vid bigserial PRIMARY KEY, member_id uuid REFERENCES members, at timestamptz DEFAULT now());
CREATE TABLE legacy_refs (member_ref uuid);   -- no foreign key: stays uuid
GRANT SELECT ON members TO clerk;
-- a function taking the key as uuid; one whose body compares it with a uuid column; a PL/pgSQL
-- trigger over a referencing column; a policy comparing the key with a uuid; another role's view.
CREATE FUNCTION member_name(p_id uuid) RETURNS text LANGUAGE sql AS $$ SELECT name FROM members WHERE id = p_id $$;
CREATE FUNCTION legacy_names() RETURNS SETOF text LANGUAGE sql AS $$ SELECT m.name FROM members m JOIN legacy_refs r ON r.member_ref = m.id $$;
CREATE FUNCTION visit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RAISE DEBUG 'visit of %', NEW.member_id; RETURN NEW; END $$;
CREATE TRIGGER visit_stamp BEFORE INSERT ON visits FOR EACH ROW EXECUTE FUNCTION visit_stamp();
ALTER TABLE members ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_member ON members USING (id = current_setting('app.member', true)::uuid);
SET ROLE clerk;
CREATE VIEW clerk_members AS SELECT id, name FROM members;
SET ROLE shopkeeper;
SELECT target, status FROM snowflake_migration_plan('members') WHERE phase = 'dependent' ORDER BY target;
SELECT snowflake_migration_start('members');
\echo :LAST_ERROR_SQLSTATE
-- Those taken away (the view by its owner), the start tries the rest on the bigint columns:
-- the SQL function comparing the key with a uuid column does not parse there.
DROP FUNCTION member_name(uuid);
DROP POLICY own_member ON members;
SET ROLE clerk;
DROP VIEW clerk_members;
SET ROLE shopkeeper;
SELECT snowflake_migration_start('members');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS twins_left FROM pg_attribute WHERE attname LIKE '%\_snowflake' AND attrelid IN ('members'::regclass, 'visits'::regclass) AND NOT attisdropped;
DROP FUNCTION legacy_names();
SELECT snowflake_migration_start('members');
SELECT snowflake_migration_abort('members');
DROP TABLE visits, members, legacy_refs;
DROP FUNCTION visit_stamp();
-- ---- State planted by another role blocks nobody ----
-- The clerk records a migration of a table of its own, then drops the table.
SET ROLE clerk;
CREATE TABLE future_orders (id uuid PRIMARY KEY);
INSERT INTO snowflake_internal.snowflake_migration (relation, key_column, new_column, phase) VALUES ('public.future_orders', 'id', 'id_snowflake', 'started');
DROP TABLE future_orders;
-- The shopkeeper's table of that name later migrates as if nothing was recorded.
SET ROLE shopkeeper;
CREATE TABLE future_orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), placed timestamptz NOT NULL DEFAULT '2024-09-01');
SELECT snowflake_migration_start('future_orders');
SELECT snowflake_migration_abort('future_orders');
DROP TABLE future_orders;
RESET ROLE;
-- A row left behind by a dropped table does not hold DROP EXTENSION (the migration guard passes;
-- the drop is rolled back).
SET ROLE clerk;
CREATE TABLE gone (id uuid PRIMARY KEY);
INSERT INTO snowflake_internal.snowflake_migration (relation, key_column, new_column, phase) VALUES ('public.gone', 'id', 'id_snowflake', 'started');
DROP TABLE gone;
RESET ROLE;
SELECT count(*) AS rows_left_behind FROM snowflake_internal.snowflake_migration WHERE relation = 'public.gone';
SET client_min_messages = warning;
DO $$
BEGIN
    DROP EXTENSION snowflake CASCADE;
    RAISE EXCEPTION USING ERRCODE = 'SFDRP', MESSAGE = 'dropped';
EXCEPTION WHEN SQLSTATE 'SFDRP' THEN RAISE WARNING 'DROP EXTENSION not refused (rolled back)';
          WHEN object_in_use THEN RAISE WARNING 'refused: %', SQLERRM;
END $$;
RESET client_min_messages;
DELETE FROM snowflake_internal.snowflake_migration WHERE relation = 'public.gone';
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM shopkeeper, clerk;
DROP ROLE shopkeeper;

-- ---- The new key's type: bigint (the default) or snowflake ----
CREATE TABLE regions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), made timestamptz NOT NULL, name text NOT NULL);
CREATE TABLE shops (sid bigserial PRIMARY KEY, region_id uuid NOT NULL REFERENCES regions ON DELETE CASCADE);
CREATE INDEX ON shops (region_id);
SET snowflake_migration.target_type = 'text';
SELECT count(*) FROM snowflake_migration_plan('regions');
SET snowflake_migration.target_type = 'snowflake';
INSERT INTO regions (made, name) SELECT timestamptz '2024-08-01 00:00:00+00' + n * interval '1 hour', 'region ' || n FROM generate_series(1, 20) n;
INSERT INTO shops (region_id) SELECT id FROM regions, generate_series(1, 3);
SELECT statement FROM snowflake_migration_plan('regions') WHERE statement LIKE '%ADD COLUMN%';
SELECT snowflake_migration_start('regions');
RESET snowflake_migration.target_type;   -- the started migration keeps its type
INSERT INTO regions (made, name) VALUES ('2024-08-02', 'live region');
INSERT INTO shops (region_id) SELECT id FROM regions WHERE name = 'live region';
CALL snowflake_migration_backfill('regions', time_column => 'made');
SELECT statement FROM snowflake_migration_plan('regions') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('regions');
SELECT attrelid::regclass AS tbl, attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
WHERE attrelid IN ('regions'::regclass, 'shops'::regclass) AND attname IN ('id', 'region_id') ORDER BY 1, 2;
SELECT pg_get_constraintdef(oid) AS fk FROM pg_constraint WHERE conrelid = 'shops'::regclass AND contype = 'f';
SELECT count(*) AS shops, count(*) FILTER (WHERE s.region_id = r.id) AS joined,
       count(*) FILTER (WHERE snowflake_timestamp(r.id) = r.made) AS at_their_time
FROM shops s JOIN regions r ON r.id = s.region_id;
SELECT to_json(r.id)::text ~ '^"[0-9]+"$' AS json_string FROM regions r WHERE name = 'region 1';
DROP TABLE shops, regions;
