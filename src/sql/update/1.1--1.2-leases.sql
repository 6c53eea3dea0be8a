-- The end of the update from 1.1, after lease.sql has brought 1.1's lease functions and view to 1.2: in an application database they go; in a coordination database they stay until extension snowflake_coordination takes them over.
--
-- From 1.2 the lease objects belong to extension snowflake_coordination, created where the
-- operator asks (the coordination database), and CREATE EXTENSION snowflake makes none. A 1.1
-- database that never used them (no lease, no grant row, no reclaim setting, no privilege on them
-- given to any role but their owner) loses them here. One that did is a coordination database in
-- use: its nodes and services keep claiming and renewing through the update, so its lease
-- objects, rows and grants stay as they are, members of snowflake, and a WARNING says what to run
-- next: CREATE EXTENSION snowflake_coordination, which takes them over unchanged
-- (coordination/adopt.sql). Qualified names only (this runs on the script's search_path).
DO $leases$
DECLARE
    in_use boolean;
BEGIN
    in_use := EXISTS (SELECT FROM @extschema@.snowflake_lease)
           OR EXISTS (SELECT FROM @extschema@.snowflake_lease_grant)
           OR EXISTS (SELECT FROM @extschema@.snowflake_lease_settings)
           OR EXISTS (SELECT FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
                      WHERE c.oid OPERATOR(pg_catalog.=) ANY (ARRAY[CAST('@extschema@.snowflake_lease' AS pg_catalog.regclass),
                                                                    CAST('@extschema@.snowflake_lease_grant' AS pg_catalog.regclass),
                                                                    CAST('@extschema@.snowflake_lease_settings' AS pg_catalog.regclass),
                                                                    CAST('@extschema@.snowflake_leases' AS pg_catalog.regclass)])
                        AND a.grantee OPERATOR(pg_catalog.<>) c.relowner)
           OR EXISTS (SELECT FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
                      WHERE p.oid OPERATOR(pg_catalog.=) ANY (ARRAY[
                                CAST('@extschema@.snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text)' AS pg_catalog.regprocedure),
                                CAST('@extschema@.snowflake_lease_renew(integer, uuid, uuid, bigint)' AS pg_catalog.regprocedure),
                                CAST('@extschema@.snowflake_lease_release(integer, uuid, uuid, bigint)' AS pg_catalog.regprocedure)])
                        AND a.grantee OPERATOR(pg_catalog.<>) p.proowner);
    IF in_use THEN
        RAISE WARNING 'snowflake 1.2: this database holds machine-id leases; its lease objects stay in extension snowflake until CREATE EXTENSION snowflake_coordination'
            USING DETAIL = 'From 1.2 the lease tables, functions and the view snowflake_leases belong to extension snowflake_coordination, installed on the coordination database only; they keep working meanwhile.',
                  HINT = 'CREATE EXTENSION snowflake_coordination SCHEMA @extschema@; takes them over with their rows and grants.';
    ELSE
        DROP VIEW @extschema@.snowflake_leases;
        DROP FUNCTION @extschema@.snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                      @extschema@.snowflake_lease_renew(integer, uuid, uuid, bigint),
                      @extschema@.snowflake_lease_release(integer, uuid, uuid, bigint),
                      @extschema@._snowflake_lease_check_end(bigint, integer);
        -- Out of the extension first: that also takes them off its list of tables pg_dump dumps
        -- (pg_extension.extconfig), which DROP TABLE alone would leave naming dropped tables.
        ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_lease;
        ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_lease_grant;
        ALTER EXTENSION snowflake DROP TABLE @extschema@.snowflake_lease_settings;
        DROP TABLE @extschema@.snowflake_lease, @extschema@.snowflake_lease_grant, @extschema@.snowflake_lease_settings;
    END IF;
END
$leases$;
