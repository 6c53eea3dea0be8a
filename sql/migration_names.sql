-- After the cut-over of a uuid key, the constraints of the migrated table and of the tables that
-- reference it (a partitioned one among them) have the names a table created with the new
-- columns has, NOT NULL constraints included (PostgreSQL 18 records them in pg_constraint, named
-- after their column: the twin's would otherwise keep orgs_id_snowflake_not_null). The same for
-- widened integer keys: sql/migration_integer.sql.
CREATE EXTENSION IF NOT EXISTS snowflake;
SET timezone = 'UTC';

CREATE TABLE orgs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
CREATE TABLE teams (id serial PRIMARY KEY, org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE, lead_org_id uuid REFERENCES orgs);
CREATE TABLE audits (id bigserial, org_id uuid NOT NULL REFERENCES orgs, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE audits_2024 PARTITION OF audits FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE audits_2025 PARTITION OF audits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO orgs (name) SELECT 'o' || n FROM generate_series(1, 20) n;
INSERT INTO teams (org_id, lead_org_id) SELECT id, CASE WHEN name < 'o5' THEN id END FROM orgs;
INSERT INTO audits (org_id, at) SELECT id, date '2024-06-01' + length(name) * 200 FROM orgs;
SET client_min_messages = warning;
SELECT snowflake_migration_start('orgs');
CALL snowflake_migration_backfill('orgs', order_by => 'name');
SELECT statement FROM snowflake_migration_plan('orgs') WHERE phase = 'index' AND status <> 'done' \gexec
CALL snowflake_migration_cutover('orgs');
RESET client_min_messages;

-- The same tables created with the columns the cut-over leaves (the uuids kept in <column>_uuid).
CREATE SCHEMA fresh;
CREATE TABLE fresh.orgs (id_uuid uuid DEFAULT gen_random_uuid(), name text NOT NULL, id bigint PRIMARY KEY DEFAULT snowflake_next());
CREATE TABLE fresh.teams (id serial PRIMARY KEY, org_id_uuid uuid, lead_org_id_uuid uuid,
                          org_id bigint NOT NULL REFERENCES fresh.orgs ON DELETE CASCADE, lead_org_id bigint REFERENCES fresh.orgs);
CREATE TABLE fresh.audits (id bigserial, org_id_uuid uuid, at date NOT NULL, org_id bigint NOT NULL REFERENCES fresh.orgs,
                           PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE fresh.audits_2024 PARTITION OF fresh.audits FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE fresh.audits_2025 PARTITION OF fresh.audits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE FUNCTION names_in(nsp text) RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s: %s %s', c.relname, k.conname, replace(pg_get_constraintdef(k.oid), 'fresh.', ''))
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = nsp AND c.relname IN ('orgs', 'teams', 'audits', 'audits_2024', 'audits_2025')
$$;
-- Compared: the constraints of both (with NOT NULL ones on PostgreSQL 18), and what differs.
SELECT count(*) FILTER (WHERE item !~ ' NOT NULL ') AS compared,
       count(*) FILTER (WHERE item ~ ' NOT NULL ') = (SELECT count(*) FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                                                        WHERE c.relnamespace = 'fresh'::regnamespace AND k.contype::text = 'n') AS with_not_nulls
FROM names_in('fresh');
SELECT 'migrated' AS side, item FROM (SELECT * FROM names_in('public') EXCEPT SELECT * FROM names_in('fresh')) x
UNION ALL SELECT 'fresh', item FROM (SELECT * FROM names_in('fresh') EXCEPT SELECT * FROM names_in('public')) y ORDER BY 1, 2;

DROP SCHEMA fresh CASCADE;
DROP FUNCTION names_in(text);
DROP TABLE audits, teams, orgs;
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation = 'public.orgs';
DELETE FROM snowflake_internal.snowflake_migration WHERE relation = 'public.orgs';
DELETE FROM snowflake_internal.snowflake_migration_lane WHERE relation = 'public.orgs';
