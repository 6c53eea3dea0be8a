-- Abort restores the schema exactly, from any phase before the cut-over; a failed cut-over changes nothing;
-- a duplicate key is caught by the unique index; shapes that cannot be migrated are refused with their SQLSTATE.
CREATE EXTENSION IF NOT EXISTS snowflake;
-- Errors show their SQLSTATE (echoed after them), not the PL/pgSQL line they come from.
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- Reports an error's SQLSTATE and message instead of stopping.
CREATE FUNCTION migration_error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE, created_at timestamptz NOT NULL,
                    referrer uuid REFERENCES users ON DELETE SET NULL);
CREATE TABLE sessions (sid bigserial PRIMARY KEY, user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX sessions_user_id_idx ON sessions (user_id DESC NULLS LAST) INCLUDE (sid);
CREATE INDEX sessions_user_lower_idx ON sessions (lower(user_id::text));   -- an expression: not copied
INSERT INTO users (email, created_at) SELECT 'u' || n || '@example.org', timestamptz '2024-09-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, 500) n;
INSERT INTO sessions (user_id) SELECT id FROM users, generate_series(1, 2);

CREATE FUNCTION schema_of_users() RETURNS TABLE (item text) LANGUAGE sql AS $$
    SELECT format('%s column %s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ' default ' || pg_get_expr(d.adbin, d.adrelid))
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relname IN ('users', 'sessions')
    UNION ALL
    SELECT format('%s constraint %s %s%s', c.relname, k.conname, pg_get_constraintdef(k.oid), CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END)
    FROM pg_class c JOIN pg_constraint k ON k.conrelid = c.oid WHERE c.relname IN ('users', 'sessions')
    UNION ALL
    SELECT format('%s index %s%s', c.relname, pg_get_indexdef(i.indexrelid), CASE WHEN i.indisvalid THEN '' ELSE ' (invalid)' END)
    FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid WHERE c.relname IN ('users', 'sessions')
    UNION ALL
    SELECT format('%s trigger %s', c.relname, t.tgname)
    FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal WHERE c.relname IN ('users', 'sessions')
    UNION ALL
    SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p WHERE p.proname LIKE 'snowflake_fill_%'
$$;
CREATE TABLE schema_before AS SELECT * FROM schema_of_users();
CREATE TABLE data_before AS SELECT u.id, u.email, u.referrer, s.sid FROM users u JOIN sessions s ON s.user_id = u.id;
CREATE VIEW schema_diff AS
    (SELECT '-' AS side, item FROM schema_before EXCEPT SELECT '-', item FROM schema_of_users())
    UNION ALL
    (SELECT '+', item FROM schema_of_users() EXCEPT SELECT '+', item FROM schema_before);

-- The plan keeps the index options, and says which index it cannot copy.
SELECT statement FROM snowflake_migration_plan('users') WHERE phase IN ('index', 'constrain') ORDER BY step;

-- ---- Abort right after the start ----
SET client_min_messages = warning;
SELECT snowflake_migration_start('users');
SELECT snowflake_migration_abort('users');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT count(*) AS state_rows FROM snowflake_internal.snowflake_migration_step;

-- ---- Abort in the middle of the backfill ----
SELECT snowflake_migration_start('users');
CREATE FUNCTION stop_at_300() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.email = 'u300@example.org' THEN RAISE EXCEPTION 'stop'; END IF; RETURN NEW; END $$;
CREATE TRIGGER stop_at_300 BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION stop_at_300();
CALL snowflake_migration_backfill('users', time_column => 'created_at', batch_size => 100);
DROP TRIGGER stop_at_300 ON users;
DROP FUNCTION stop_at_300();
SELECT status FROM snowflake_migration_plan('users') WHERE statement LIKE 'UPDATE public.users p%';
SELECT snowflake_migration_abort('users');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT count(*) AS map_rows FROM snowflake_internal.snowflake_migration_map;

-- ---- A duplicate key written by hand during the migration: the unique index catches it ----
SELECT snowflake_migration_start('users');
CALL snowflake_migration_backfill('users', time_column => 'created_at');
\set VERBOSITY terse
INSERT INTO users (email, created_at, id_snowflake) SELECT 'copy', now(), id_snowflake FROM users WHERE email = 'u1@example.org';
SELECT statement FROM snowflake_migration_plan('users') WHERE phase = 'index' \gexec
\set VERBOSITY default
SELECT step, status FROM snowflake_migration_plan('users') WHERE phase = 'index';
CALL snowflake_migration_cutover('users');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM users WHERE email = 'copy';
DROP INDEX users_pkey_snowflake;
SELECT statement FROM snowflake_migration_plan('users') WHERE phase = 'index' AND status <> 'done' \gexec

-- ---- A cut-over that fails changes nothing; abort after it ----
-- A foreign key added after the start was not in the plan: dropping the old primary key fails.
CREATE TABLE late (user_id uuid REFERENCES users);
CALL snowflake_migration_cutover('users');
\echo :LAST_ERROR_SQLSTATE
SELECT phase FROM snowflake_internal.snowflake_migration;
SELECT step, status FROM snowflake_migration_plan('users') WHERE phase IN ('constrain', 'cutover') AND step < 30 ORDER BY step;
SELECT * FROM schema_diff ORDER BY 1, 2;
DROP TABLE late;
SELECT snowflake_migration_abort('users');
SELECT * FROM schema_diff ORDER BY 1, 2;
SELECT (SELECT count(*) FROM (SELECT u.id, u.email, u.referrer, s.sid FROM users u JOIN sessions s ON s.user_id = u.id) a) AS rows_now,
       (SELECT count(*) FROM (SELECT u.id, u.email, u.referrer, s.sid FROM users u JOIN sessions s ON s.user_id = u.id
                              EXCEPT SELECT * FROM data_before) d) AS changed;
RESET client_min_messages;

-- ---- Out of order, twice, or after the end ----
-- Inside a transaction that has written, the procedures say how to call them instead.
BEGIN;
CREATE TEMP TABLE scratch (x int);
CALL snowflake_migration_backfill('users', time_column => 'created_at');
ROLLBACK;
SELECT migration_error_of($$SELECT snowflake_migration_abort('users')$$);
CALL snowflake_migration_backfill('users', time_column => 'created_at');
\echo :LAST_ERROR_SQLSTATE
CALL snowflake_migration_cutover('users');
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = warning;
SELECT snowflake_migration_start('users');
RESET client_min_messages;
SELECT migration_error_of($$SELECT snowflake_migration_start('users')$$);
CALL snowflake_migration_cutover('users');
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = warning;
SELECT snowflake_migration_abort('users');
RESET client_min_messages;

-- ---- Objects over the key: the dry run lists them; views and policies are carried, the rest refused ----
CREATE VIEW user_sessions AS
    SELECT u.id, u.email, count(s.sid) AS sessions FROM users u LEFT JOIN sessions s ON s.user_id = u.id GROUP BY u.id;
CREATE MATERIALIZED VIEW user_ids AS SELECT id FROM users;
ALTER TABLE sessions ADD CONSTRAINT not_nil CHECK (user_id <> '00000000-0000-0000-0000-000000000000');
CREATE POLICY own_sessions ON sessions USING (user_id IN (SELECT id FROM users));
CREATE FUNCTION session_owner(s bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    u users.id%TYPE;
BEGIN
    SELECT user_id INTO u FROM sessions WHERE sid = s;
    RETURN u::text;
END $$;
SELECT target, status FROM snowflake_migration_plan('users') WHERE phase = 'dependent' ORDER BY target;
SELECT snowflake_migration_start('users');
SELECT count(*) AS migrations FROM snowflake_internal.snowflake_migration;
DROP MATERIALIZED VIEW user_ids;
ALTER TABLE sessions DROP CONSTRAINT not_nil;
SELECT target, statement FROM snowflake_migration_plan('users') WHERE phase = 'dependent' AND statement IS NOT NULL ORDER BY target;
SET client_min_messages = error;   -- (the warning about wal_level depends on the server's settings)
CREATE PUBLICATION users_pub FOR TABLE users;
RESET client_min_messages;
SELECT target, status FROM snowflake_migration_plan('users') WHERE phase = 'dependent' AND target LIKE 'publication%';
DROP PUBLICATION users_pub;
DROP VIEW user_sessions;
DROP POLICY own_sessions ON sessions;
DROP FUNCTION session_owner(bigint);

-- ---- Shapes that cannot be migrated ----
CREATE TABLE no_pk (id uuid);
CREATE TABLE two_col_pk (a uuid, b uuid, PRIMARY KEY (a, b));
CREATE TABLE int_pk (id numeric PRIMARY KEY);
CREATE TABLE parted (id uuid PRIMARY KEY) PARTITION BY HASH (id);
CREATE TABLE parent_of_parted (id uuid PRIMARY KEY);
CREATE TABLE parted_child (pid uuid REFERENCES parent_of_parted, k int) PARTITION BY LIST (k);
CREATE VIEW users_view AS SELECT * FROM users;
CREATE TABLE taken (id uuid PRIMARY KEY, id_snowflake bigint);
CREATE TABLE taken_after (id uuid PRIMARY KEY, id_uuid text);
SELECT t, migration_error_of(format('SELECT * FROM snowflake_migration_plan(%L)', t))
FROM unnest(ARRAY['no_pk', 'two_col_pk', 'int_pk', 'parted', 'parent_of_parted', 'users_view', 'taken', 'taken_after']) t;
SELECT migration_error_of($$SELECT snowflake_migration_start('no_pk')$$);
SELECT count(*) AS migrations FROM snowflake_internal.snowflake_migration;
DROP TABLE no_pk, two_col_pk, int_pk, parted, parted_child, parent_of_parted, taken, taken_after;
DROP VIEW users_view;
DROP VIEW schema_diff;
DROP TABLE sessions, users, schema_before, data_before;
DROP FUNCTION schema_of_users();
DROP FUNCTION migration_error_of(text);
