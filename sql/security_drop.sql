-- The DROP EXTENSION guard and the collision guard, against what 1.1 let through: a DROP built by
-- EXECUTE (refused now), an unrelated DROP EXTENSION whose text mentions snowflake (passes now),
-- a snowflake column under the collision guard (accepted like bigint), a 100 kB guard argument
-- (echoed in the error only up to a column name's length).
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE TABLE sfd_parent (id uuid PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sfd_parent VALUES (gen_random_uuid(), '2024-06-01 00:00:00+00');
SELECT snowflake_migration_start('sfd_parent');
RESET client_min_messages;

-- Built by EXECUTE: the statement text is the DO block's, the parse tree is a DROP EXTENSION snowflake.
DO $$ BEGIN EXECUTE 'DROP EXTENSION ' || quote_ident('snow' || 'flake') || ' CASCADE'; END $$;
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN EXECUTE format('DROP EXTENSION IF EXISTS %I, %I', 'no_such_extension', 'snowflake'); END $$;
\echo :LAST_ERROR_SQLSTATE
-- Typed: refused as before.
DROP EXTENSION snowflake CASCADE;
\echo :LAST_ERROR_SQLSTATE
-- Other statements that mention snowflake pass: the guard reads what is dropped, not the text.
DROP EXTENSION IF EXISTS no_such_extension /* , snowflake */;
DO $$ BEGIN DROP EXTENSION IF EXISTS no_such_extension; IF false THEN DROP EXTENSION snowflake; END IF; END $$;
SELECT 'DROP EXTENSION snowflake' AS just_text;
SELECT extname FROM pg_extension WHERE extname = 'snowflake';
SET client_min_messages = warning;
SELECT snowflake_migration_abort('sfd_parent');
RESET client_min_messages;
DROP TABLE sfd_parent;

-- The collision guard on the column type the README recommends.
CREATE TABLE sfd_guarded (id snowflake PRIMARY KEY, other snowflake, plain bigint);
CREATE TRIGGER guard BEFORE INSERT OR UPDATE ON sfd_guarded FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('id', 'other', 'plain');
ALTER TABLE sfd_guarded ENABLE REPLICA TRIGGER guard;
SET session_replication_role = replica;
INSERT INTO sfd_guarded VALUES (snowflake_compose('2024-01-01 00:00:00+00', 7, 0), NULL, 1);
INSERT INTO sfd_guarded VALUES (snowflake_compose('2024-01-01 00:00:00+00', 42, 0), NULL, 2);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO sfd_guarded VALUES (3, snowflake_compose('2024-01-01 00:00:00+00', 42, 1), 3);
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = origin;
SELECT count(*) AS rows_in FROM sfd_guarded;
-- A column of another type is still refused; a 100 kB argument is not echoed whole.
CREATE TABLE sfd_wrong (id uuid, other bigint);
CREATE TRIGGER guard BEFORE INSERT ON sfd_wrong FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE sfd_wrong ENABLE REPLICA TRIGGER guard;
SELECT format('CREATE TRIGGER guard_long BEFORE INSERT ON sfd_wrong FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated(%L)',
              repeat('x', 100000)) AS long_trigger \gset
:long_trigger;
ALTER TABLE sfd_wrong ENABLE REPLICA TRIGGER guard_long;
SET session_replication_role = replica;
INSERT INTO sfd_wrong VALUES (gen_random_uuid(), 1);
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER guard ON sfd_wrong;
INSERT INTO sfd_wrong VALUES (gen_random_uuid(), 1);
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = origin;
DROP TABLE sfd_guarded, sfd_wrong;
