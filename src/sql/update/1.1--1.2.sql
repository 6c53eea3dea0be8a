-- What updating from 1.1 to 1.2 must do before the replayable definitions of src/sql run over
-- 1.1's objects (see the Makefile's "SQL scripts"): drop what 1.2 no longer has or defines with
-- another signature or result, and convert 1.1's state to 1.2's.

-- Leases: from 1.2 a role leases only the ids of its rows in snowflake_lease_grant (1.1 let every
-- role granted the functions lease any id while the table was empty). A coordination database in
-- use keeps working: when the table is empty, each role granted EXECUTE on snowflake_lease_claim
-- gets [0,1023], what it had, with a WARNING to narrow it. Qualified names only (this runs on the
-- script's search_path).
DO $update$
DECLARE
    roles text;
BEGIN
    IF NOT EXISTS (SELECT FROM @extschema@.snowflake_lease_grant) THEN
        WITH granted AS (
            SELECT DISTINCT a.grantee
            FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
            WHERE p.oid OPERATOR(pg_catalog.=) CAST('@extschema@.snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text)'
                                                   AS pg_catalog.regprocedure)
              AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE' AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
              AND a.grantee OPERATOR(pg_catalog.<>) 0),
        added AS (
            INSERT INTO @extschema@.snowflake_lease_grant (holder_role, machine_ids)
            SELECT r.rolname, pg_catalog.int4range(0, 1023, '[]')
            FROM granted g JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) g.grantee
            RETURNING holder_role)
        SELECT pg_catalog.string_agg(CAST(a.holder_role AS pg_catalog.text), ', ' ORDER BY a.holder_role) INTO roles FROM added a;
        IF roles IS NOT NULL THEN
            RAISE WARNING 'snowflake 1.2: roles % may lease every machine id (rows added to snowflake_lease_grant)', roles
                USING DETAIL = 'From 1.2 a role leases only the ids of its rows in snowflake_lease_grant; these roles leased any id under 1.1.',
                      HINT = 'Narrow each to the ids of its nodes: UPDATE snowflake_lease_grant SET machine_ids = ''[100,199]'' WHERE holder_role = ...;';
        END IF;
    END IF;
END
$update$;

-- The description of the migrated columns is one composite value now, not parallel arrays,
-- computed once per plan and handed to each phase's function.
DROP FUNCTION _snowflake_migration_context(regclass, boolean);
DROP FUNCTION _snowflake_migration_steps_start(regclass, boolean);
DROP FUNCTION _snowflake_migration_steps_backfill(regclass, boolean);
DROP FUNCTION _snowflake_migration_steps_index(regclass, boolean, boolean);
DROP FUNCTION _snowflake_migration_steps_constrain(regclass, boolean);
DROP FUNCTION _snowflake_migration_steps_cutover(regclass, boolean);

-- The abort gives way to writers like the start and the cut-over: lock_wait, give_up_after.
DROP FUNCTION snowflake_migration_abort(regclass);

-- The migration toolkit's state moves out of the extension's schema (usually public, where
-- schema-diff tools would drop it) into the schema of its own internal_schema.sql just created.
-- SET SCHEMA keeps each table's rows, indexes, grants, row-level security and policies, and its
-- registration for pg_dump (by OID), and it stays a member of the extension.
ALTER TABLE @extschema@.snowflake_migration SET SCHEMA snowflake_internal;
ALTER TABLE @extschema@.snowflake_migration_step SET SCHEMA snowflake_internal;
ALTER TABLE @extschema@.snowflake_migration_map SET SCHEMA snowflake_internal;
