-- What updating from 1.0 to 1.1 must do before the definitions of src/sql are replayed over the
-- 1.0 objects (every function there is CREATE OR REPLACE): drop what 1.1 no longer has or
-- defines with another signature, and convert 1.0's state (migration/state.sql) to 1.1's.
--
-- 1.0 kept the statements of a migration as text and ran them back; 1.1 computes them when they
-- run and keeps only data, in tables with row-level security (migration/state.sql). A migration
-- under way in 1.0 is not converted: its statements were stored by 1.0's rules. Finish it (the
-- cut-over) or abort it under 1.0, then update. Migrations that are done keep their record (not their statements).
DO $$
DECLARE
    busy text;
BEGIN
    SELECT string_agg(m.relation, ', ' ORDER BY m.relation) INTO busy
    FROM @extschema@.snowflake_migration m WHERE m.phase <> 'done';
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'cannot update snowflake to 1.1 while a migration is under way: %', busy
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Under 1.0, finish it (CALL snowflake_migration_cutover(...)) or undo it (SELECT snowflake_migration_abort(...)); then ALTER EXTENSION snowflake UPDATE.';
    END IF;
END
$$;
CREATE TEMP TABLE snowflake_10_migration ON COMMIT DROP AS SELECT * FROM @extschema@.snowflake_migration;
CREATE TEMP TABLE snowflake_10_step ON COMMIT DROP AS
    SELECT relation, step, phase, kind, target, object, finished, done, total FROM @extschema@.snowflake_migration_step;
-- Out of the extension first, so that they leave its list of configuration tables too.
ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_migration_map;
ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_migration_step;
ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_migration;
DROP TABLE @extschema@.snowflake_migration_map, @extschema@.snowflake_migration_step, @extschema@.snowflake_migration;
-- Their signatures change.
DROP FUNCTION @extschema@._snowflake_migration_steps(regclass);
DROP FUNCTION @extschema@._snowflake_migration_build_map(text);
DROP PROCEDURE @extschema@.snowflake_migration_cutover(regclass);
DROP FUNCTION @extschema@.snowflake_migration_start(regclass);

-- snowflake_status() gained OUT columns (machine_id_source, lease_*): a new row type, which
-- CREATE OR REPLACE cannot give an existing function.
DROP FUNCTION @extschema@.snowflake_status();
