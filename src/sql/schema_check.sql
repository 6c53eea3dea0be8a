-- After everything is created: refuse look-alikes of the extension's functions and operators in its schema, and warn when others can create there (new in 1.2).
--
-- A function in the extension's schema with the name of one of the extension's, or an operator
-- there on the type snowflake, but not the extension's, is either a better match than the extension's for some calls or makes them
-- ambiguous (docs/security.md): CREATE EXTENSION and ALTER EXTENSION ... UPDATE refuse (42710),
-- naming each with its owner, so that nobody runs a database where a call of snowflake_decode()
-- may run another role's code. (One with the exact signature of the extension's already made the
-- CREATE fail, with PostgreSQL's "is not a member of extension" or "already exists".)
--
-- Then a WARNING when roles other than the schema's owner may create in it: the extension's
-- exact overloads keep such roles from being a better match for the documented calls, but such a
-- role can still make calls ambiguous ("is not unique") with an overload that adds a defaulted
-- argument, and it can do the same to PostgreSQL's own functions. PostgreSQL's secure schema
-- usage pattern is the precondition: no schema on anyone's search_path that untrusted roles can
-- create in.
--
-- Qualified names and operators only (this runs on the script's search_path, the schema in question).
DO $check$
DECLARE
    ext oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) CAST('snowflake' AS pg_catalog.name));
    nsp oid := CAST('@extschema@' AS pg_catalog.regnamespace);
    squatters text;
    writers text;
BEGIN
    WITH member AS (
        SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
        WHERE d.refclassid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_extension' AS pg_catalog.regclass)
          AND d.refobjid OPERATOR(pg_catalog.=) ext AND d.deptype OPERATOR(pg_catalog.=) 'e'),
    member_fn AS (
        SELECT p.proname FROM pg_catalog.pg_proc p JOIN member m
            ON m.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass) AND m.objid OPERATOR(pg_catalog.=) p.oid
        WHERE pg_catalog.starts_with(CAST(p.proname AS pg_catalog.text), 'snowflake')
           OR pg_catalog.starts_with(CAST(p.proname AS pg_catalog.text), '_snowflake')),
    sf AS (
        SELECT t.oid FROM pg_catalog.pg_type t JOIN member m
            ON m.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_type' AS pg_catalog.regclass) AND m.objid OPERATOR(pg_catalog.=) t.oid
        WHERE t.typname OPERATOR(pg_catalog.=) CAST('snowflake' AS pg_catalog.name))
    SELECT pg_catalog.string_agg(s.what, ', ' ORDER BY s.what) INTO squatters
    FROM (SELECT pg_catalog.format('function %s (owner %s)', CAST(p.oid AS pg_catalog.regprocedure),
                                   CAST(p.proowner AS pg_catalog.regrole)) AS what
          FROM pg_catalog.pg_proc p
          WHERE p.pronamespace OPERATOR(pg_catalog.=) nsp
            AND p.proname OPERATOR(pg_catalog.=) ANY (SELECT f.proname FROM member_fn f)
            AND NOT EXISTS (SELECT FROM member m WHERE m.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_proc' AS pg_catalog.regclass)
                                                   AND m.objid OPERATOR(pg_catalog.=) p.oid)
          UNION ALL
          SELECT pg_catalog.format('operator %s (owner %s)', CAST(o.oid AS pg_catalog.regoperator),
                                   CAST(o.oprowner AS pg_catalog.regrole))
          FROM pg_catalog.pg_operator o
          WHERE o.oprnamespace OPERATOR(pg_catalog.=) nsp
            AND (o.oprleft OPERATOR(pg_catalog.=) ANY (SELECT sf.oid FROM sf) OR o.oprright OPERATOR(pg_catalog.=) ANY (SELECT sf.oid FROM sf))
            AND NOT EXISTS (SELECT FROM member m WHERE m.classid OPERATOR(pg_catalog.=) CAST('pg_catalog.pg_operator' AS pg_catalog.regclass)
                                                   AND m.objid OPERATOR(pg_catalog.=) o.oid)) s;
    IF squatters IS NOT NULL THEN
        RAISE EXCEPTION 'schema @extschema@ has functions or operators named like the extension''s that are not the extension''s: %',
                        pg_catalog.left(squatters, 2000)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = 'Calls of the extension''s functions and operators could resolve to them, or become ambiguous.',
                  HINT = 'Drop them (or move them to another schema), or install the extension into a schema only trusted roles can create in.';
    END IF;

    -- The schema of the state (internal_schema.sql) is created by the extension with no CREATE for
    -- anyone but its owner; an update refuses to run on one that was opened since.
    SELECT pg_catalog.string_agg(CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                      ELSE CAST(CAST(a.grantee AS pg_catalog.regrole) AS pg_catalog.text) END, ', ')
    INTO writers
    FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
    WHERE n.nspname OPERATOR(pg_catalog.=) CAST('snowflake_internal' AS pg_catalog.name)
      AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE' AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner;
    IF writers IS NOT NULL THEN
        RAISE EXCEPTION 'schema snowflake_internal of extension snowflake is writable by roles other than its owner: %', writers
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'It holds the extension''s state and nothing else; the extension gives CREATE on it to no role but its owner.',
                  HINT = 'REVOKE CREATE ON SCHEMA snowflake_internal FROM them, then run the statement again.';
    END IF;
    writers := NULL;

    SELECT pg_catalog.string_agg(CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                      ELSE CAST(CAST(a.grantee AS pg_catalog.regrole) AS pg_catalog.text) END, ', ')
    INTO writers
    FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
    WHERE n.oid OPERATOR(pg_catalog.=) nsp AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
      AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner;
    IF writers IS NOT NULL THEN
        RAISE WARNING 'schema @extschema@ of extension snowflake is writable by roles other than its owner: %', writers
            USING DETAIL = 'A role that can create objects there can make calls of the extension''s functions ambiguous, and plant functions and operators that PostgreSQL''s own calls resolve to.',
                  HINT = 'REVOKE CREATE ON SCHEMA @extschema@ FROM them (PostgreSQL''s secure schema usage pattern), or install the extension into a schema only trusted roles can create in.';
    END IF;
END
$check$;
