-- Before anything is created: objects in the extension's schema that take the extension's names but are not the extension's, and a schema snowflake_internal not its own (new in 1.2).
--
-- A role that can create in the schema could have made them (docs/security.md): a type
-- snowflake, or a function with the name of one of the extension's (any signature: one with other
-- argument types is a better match for some calls, or makes the extension's own calls ambiguous,
-- and CREATE EXTENSION or ALTER EXTENSION ... UPDATE would fail half-way with "is not unique" or
-- "already exists"). Refused here at once (42710), each named with its owner, before anything
-- changes. schema_check.sql, at the end, checks the same for every name the extension then has.
-- Written with schema-qualified names and operators only: a DO block of an extension script runs
-- on the script's search_path, the extension's schema, which is the one in question.
DO $preflight$
DECLARE
    nsp oid := CAST('@extschema@' AS pg_catalog.regnamespace);
    names pg_catalog.name[] := ARRAY['snowflake', 'snowflake_next', 'snowflake_decode', 'snowflake_compose', 'snowflake_timestamp',
        'snowflake_machine_id', 'snowflake_status', 'snowflake_guard_replicated', 'snowflake_shared_machine_ids',
        'snowflake_uuid_time', 'snowflake_migration_plan', 'snowflake_migration_start', 'snowflake_migration_backfill',
        'snowflake_migration_cutover', 'snowflake_migration_abort', 'snowflake_migration_key', 'snowflake_lease_claim', 'snowflake_lease_renew',
        'snowflake_lease_release'];
    squatters text;
    internal oid := (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname OPERATOR(pg_catalog.=) CAST('snowflake_internal' AS pg_catalog.name));
BEGIN
    -- The schema of the extension's state (internal_schema.sql) is the extension's or does not exist:
    -- one made by anyone else (or the extension's own schema given that name) could hold what
    -- its owner put there, beside the state that row-level security protects.
    IF internal IS NOT NULL AND NOT EXISTS (
           SELECT FROM pg_catalog.pg_depend d
           WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_namespace' AS pg_catalog.regclass)
             AND d.objid OPERATOR(pg_catalog.=) internal AND d.deptype OPERATOR(pg_catalog.=) 'e'
             AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
                                                    WHERE e.extname OPERATOR(pg_catalog.=) CAST('snowflake' AS pg_catalog.name))) THEN
        RAISE EXCEPTION 'schema snowflake_internal exists and is not the extension''s (owner %)',
                        (SELECT CAST(n.nspowner AS pg_catalog.regrole) FROM pg_catalog.pg_namespace n WHERE n.oid OPERATOR(pg_catalog.=) internal)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'The extension keeps its state (the migration toolkit''s tables) in a schema of its own named snowflake_internal, which it creates.',
                  HINT = 'Drop or rename that schema (ALTER SCHEMA snowflake_internal RENAME TO ...), and install the extension into another schema.';
    END IF;
    SELECT pg_catalog.string_agg(s.what, ', ' ORDER BY s.what) INTO squatters
    FROM (SELECT pg_catalog.format('%s %s (owner %s)', CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
                                   CAST(t.oid AS pg_catalog.regtype), CAST(t.typowner AS pg_catalog.regrole)) AS what
          FROM pg_catalog.pg_type t
          WHERE t.typnamespace OPERATOR(pg_catalog.=) nsp
            AND t.typname OPERATOR(pg_catalog.=) CAST('snowflake' AS pg_catalog.name)
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_type' AS pg_catalog.regclass)
                              AND d.objid OPERATOR(pg_catalog.=) t.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')
          UNION ALL
          SELECT pg_catalog.format('function %s (owner %s)', CAST(p.oid AS pg_catalog.regprocedure),
                                   CAST(p.proowner AS pg_catalog.regrole))
          FROM pg_catalog.pg_proc p
          WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
            AND (p.proname OPERATOR(pg_catalog.=) ANY (names)
                 OR pg_catalog.starts_with(CAST(p.proname AS pg_catalog.text), '_snowflake'))
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass)
                              AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')) s;
    IF squatters IS NOT NULL THEN
        RAISE EXCEPTION 'schema @extschema@ has objects named like the extension''s that are not the extension''s: %',
                        pg_catalog.left(squatters, 2000)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'Calls of the extension''s functions could resolve to them, or become ambiguous; a role that can create objects in the schema of an extension can take its names.',
                  HINT = 'Drop them (or move them to another schema), or install the extension into a schema only trusted roles can create in (CREATE SCHEMA ...; CREATE EXTENSION snowflake SCHEMA ...).';
    END IF;
END
$preflight$;
