-- Before the lease objects are created: refuse look-alikes, and take over the lease objects a coordination database kept in extension snowflake when it was updated from 1.1.
--
-- Until 1.1 every CREATE EXTENSION snowflake made the lease tables, functions and view, in every
-- application database. From 1.2 they belong to this extension, installed where the operator
-- asks: on the coordination database (docs/many-nodes.md). ALTER EXTENSION snowflake UPDATE drops
-- them where they were never used, and keeps them, in use, where they hold leases, grants or
-- settings or where a role was granted them (src/sql/update/1.1--1.2-leases.sql); here
-- they move to this extension as they are: same objects, rows, grants (the same OIDs, so nothing
-- a node or a service relies on changes). privileges.sql, at the end, keeps the grants that
-- roles were given out of what pg_dump counts as the extension's own.
-- Qualified names and operators only (this runs on the script's search_path, the schema in question).
DO $adopt$
DECLARE
    nsp oid := CAST('@extschema@' AS pg_catalog.regnamespace);
    sf record;
    obj record;
    what text;
    squatters text;
BEGIN
    SELECT e.oid, e.extversion INTO sf FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) CAST('snowflake' AS pg_catalog.name);
    IF sf.extversion OPERATOR(pg_catalog.=) ANY (ARRAY['1.0', '1.1']) THEN
        RAISE EXCEPTION 'extension snowflake % in this database still has the lease objects of its version', sf.extversion
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'ALTER EXTENSION snowflake UPDATE first; then CREATE EXTENSION snowflake_coordination takes its leases over.';
    END IF;

    -- Look-alikes: a table, view or function with a name of this extension's in its schema that no
    -- extension owns (another role's, or a leftover) would be called or read in its place.
    SELECT pg_catalog.string_agg(s.what, ', ' ORDER BY s.what) INTO squatters
    FROM (SELECT pg_catalog.format('relation %s (owner %s)', CAST(c.oid AS pg_catalog.regclass), CAST(c.relowner AS pg_catalog.regrole)) AS what
          FROM pg_catalog.pg_class c
          WHERE c.relnamespace OPERATOR(pg_catalog.=) nsp
            AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['snowflake_lease', 'snowflake_lease_settings', 'snowflake_lease_grant', 'snowflake_leases']::pg_catalog.name[])
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_class' AS pg_catalog.regclass)
                              AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')
          UNION ALL
          SELECT pg_catalog.format('function %s (owner %s)', CAST(p.oid AS pg_catalog.regprocedure), CAST(p.proowner AS pg_catalog.regrole))
          FROM pg_catalog.pg_proc p
          WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
            AND p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['snowflake_lease_claim', 'snowflake_lease_renew', 'snowflake_lease_release',
                                                            '_snowflake_lease_check_end']::pg_catalog.name[])
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass)
                              AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')) s;
    IF squatters IS NOT NULL THEN
        RAISE EXCEPTION 'schema @extschema@ has objects named like snowflake_coordination''s that are not an extension''s: %',
                        pg_catalog.left(squatters, 2000)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'Nodes and services call the lease functions by name; a role that can create objects in the schema could take their names.',
                  HINT = 'Drop them (or move them to another schema), or install the extension into a schema only trusted roles can create in.';
    END IF;

    -- The lease objects extension snowflake kept (tables first: the view and functions follow them).
    FOR obj IN
        SELECT d.classid, d.objid,
               CASE WHEN d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass) THEN 'FUNCTION'
                    WHEN c.relkind OPERATOR(pg_catalog.=) 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind,
               coalesce(c.relnamespace, p.pronamespace) AS objnsp
        FROM pg_catalog.pg_depend d
        LEFT JOIN pg_catalog.pg_class c ON d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_class' AS pg_catalog.regclass)
                                       AND c.oid OPERATOR(pg_catalog.=) d.objid
        LEFT JOIN pg_catalog.pg_proc p ON d.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass)
                                      AND p.oid OPERATOR(pg_catalog.=) d.objid
        WHERE d.refclassid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_extension' AS pg_catalog.regclass)
          AND d.refobjid OPERATOR(pg_catalog.=) sf.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
          AND (c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['snowflake_lease', 'snowflake_lease_settings', 'snowflake_lease_grant', 'snowflake_leases']::pg_catalog.name[])
               OR p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['snowflake_lease_claim', 'snowflake_lease_renew', 'snowflake_lease_release',
                                                              '_snowflake_lease_check_end']::pg_catalog.name[]))
        ORDER BY c.relkind NULLS LAST, d.objid
    LOOP
        what := CASE obj.kind WHEN 'FUNCTION' THEN CAST(CAST(obj.objid AS pg_catalog.regprocedure) AS pg_catalog.text)
                              ELSE CAST(CAST(obj.objid AS pg_catalog.regclass) AS pg_catalog.text) END;
        EXECUTE pg_catalog.format('ALTER EXTENSION snowflake DROP %s %s', obj.kind, what);
        IF obj.objnsp OPERATOR(pg_catalog.<>) nsp THEN
            EXECUTE pg_catalog.format('ALTER %s %s SET SCHEMA %I', obj.kind, what, '@extschema@');
            what := CASE obj.kind WHEN 'FUNCTION' THEN CAST(CAST(obj.objid AS pg_catalog.regprocedure) AS pg_catalog.text)
                                  ELSE CAST(CAST(obj.objid AS pg_catalog.regclass) AS pg_catalog.text) END;
        END IF;
        EXECUTE pg_catalog.format('ALTER EXTENSION snowflake_coordination ADD %s %s', obj.kind, what);
    END LOOP;
END
$adopt$;
