-- Updating from every released version gives the catalog of a fresh install of the newest, and a
-- generator in use keeps issuing IDs across ALTER EXTENSION ... UPDATE (only SQL changes).
-- Runs in a database of its own, so that the other tests' objects are not in the way.
CREATE DATABASE snowflake_update;
\c snowflake_update
SET client_min_messages = warning;

-- Everything an extension owns (snowflake, or snowflake_coordination), described by name (never by OID), one row per fact.
CREATE FUNCTION extension_catalog(which name DEFAULT 'snowflake') RETURNS TABLE (object text, fact text)
LANGUAGE sql AS $$
  WITH ext AS (SELECT e.oid, e.extname, e.extconfig, e.extcondition, e.extrelocatable, e.extnamespace::regnamespace::text AS nsp
               FROM pg_extension e WHERE e.extname = which),
  members AS (SELECT d.classid, d.objid, d.objsubid, pg_describe_object(d.classid, d.objid, d.objsubid) AS object
              FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
  SELECT 'extension', format('schema %s, relocatable %s, config %s %s', nsp, extrelocatable,
         (SELECT array_agg(c::regclass::text ORDER BY c::regclass::text) FROM unnest(extconfig) c), extcondition)
  FROM ext
  UNION ALL SELECT m.object, 'member' FROM members m
  UNION ALL SELECT m.object, 'comment: ' || obj_description(m.objid, m.classid::regclass::name)
  FROM members m WHERE obj_description(m.objid, m.classid::regclass::name) IS NOT NULL
  UNION ALL SELECT m.object, 'initial privileges: ' || i.initprivs::text
  FROM members m JOIN pg_init_privs i ON (i.classoid, i.objoid, i.objsubid) = (m.classid, m.objid, m.objsubid)
  -- functions and procedures: signature, labels, settings, body, privileges
  UNION ALL SELECT m.object, pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, 'default')
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid AND p.prokind <> 'a'
  -- aggregates (pg_get_functiondef refuses them)
  UNION ALL SELECT m.object, format('aggregate sfunc %s stype %s combine %s final %s sortop %s init %s parallel %s acl %s',
                                    a.aggtransfn::regprocedure, format_type(a.aggtranstype, NULL), a.aggcombinefn,
                                    a.aggfinalfn, a.aggsortop::regoperator, a.agginitval, p.proparallel,
                                    coalesce(p.proacl::text, 'default'))
  FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
  JOIN pg_aggregate a ON a.aggfnoid = p.oid
  -- relations: kind, options, privileges, columns, constraints, indexes, triggers, policies
  UNION ALL SELECT m.object, format('kind %s, rls %s/%s, options %s, acl %s', c.relkind, c.relrowsecurity,
                                    c.relforcerowsecurity, c.reloptions, coalesce(c.relacl::text, 'default'))
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL SELECT m.object, format('column %s %s%s%s%s acl %s comment %s', a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                                    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                                    coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                    coalesce(a.attacl::text, 'default'), col_description(a.attrelid, a.attnum))
  FROM members m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  UNION ALL SELECT m.object, format('constraint %s %s', k.conname, pg_get_constraintdef(k.oid))
  FROM members m JOIN pg_constraint k ON m.classid = 'pg_class'::regclass AND k.conrelid = m.objid
  UNION ALL SELECT m.object, 'index ' || pg_get_indexdef(x.indexrelid)
  FROM members m JOIN pg_index x ON m.classid = 'pg_class'::regclass AND x.indrelid = m.objid
  UNION ALL SELECT m.object, 'trigger ' || pg_get_triggerdef(t.oid)
  FROM members m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid AND NOT t.tgisinternal
  UNION ALL SELECT m.object, format('policy %s %s %s %s using %s check %s', p.polname, p.polcmd, p.polpermissive, p.polroles::regrole[],
                                    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  FROM members m JOIN pg_policy p ON m.classid = 'pg_class'::regclass AND p.polrelid = m.objid
  UNION ALL SELECT m.object, 'view ' || pg_get_viewdef(m.objid)
  FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind IN ('v', 'm')
  -- types, operators, operator classes and families, casts
  UNION ALL SELECT m.object, format('type %s len %s byval %s align %s storage %s category %s preferred %s in %s out %s recv %s send %s analyze %s base %s acl %s',
                                    t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typcategory, t.typispreferred,
                                    t.typinput, t.typoutput, t.typreceive, t.typsend, t.typanalyze,
                                    format_type(t.typbasetype, t.typtypmod), coalesce(t.typacl::text, 'default'))
  FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
  UNION ALL SELECT m.object, format('operator %s(%s, %s) -> %s via %s commutator %s negator %s restrict %s join %s merges %s hashes %s',
                                    o.oprname, o.oprleft::regtype, o.oprright::regtype, o.oprresult::regtype, o.oprcode,
                                    o.oprcom::regoperator, o.oprnegate::regoperator, o.oprrest, o.oprjoin, o.oprcanmerge, o.oprcanhash)
  FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
  UNION ALL SELECT m.object, format('opclass for %s default %s family %s', c.opcintype::regtype, c.opcdefault,
                                    (SELECT f.opfname FROM pg_opfamily f WHERE f.oid = c.opcfamily))
  FROM members m JOIN pg_opclass c ON m.classid = 'pg_opclass'::regclass AND c.oid = m.objid
  UNION ALL SELECT m.object, format('strategy %s (%s, %s) %s', o.amopstrategy, o.amoplefttype::regtype, o.amoprighttype::regtype, o.amopopr::regoperator)
  FROM members m JOIN pg_amop o ON m.classid = 'pg_opfamily'::regclass AND o.amopfamily = m.objid
  UNION ALL SELECT m.object, format('support %s (%s, %s) %s', p.amprocnum, p.amproclefttype::regtype, p.amprocrighttype::regtype, p.amproc::regprocedure)
  FROM members m JOIN pg_amproc p ON m.classid = 'pg_opfamily'::regclass AND p.amprocfamily = m.objid
  UNION ALL SELECT m.object, format('cast via %s context %s method %s', c.castfunc::regprocedure, c.castcontext, c.castmethod)
  FROM members m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid
$$;

-- A migration under way in 1.0 is not converted (1.0 kept it as statements to run back): the
-- update refuses, naming it and the way out; a finished one keeps its record.
\set SHOW_CONTEXT never
CREATE EXTENSION snowflake VERSION '1.0';
CREATE TABLE busy10 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT '2024-06-01');
CREATE TABLE done10 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT '2024-06-01');
INSERT INTO busy10 DEFAULT VALUES;
INSERT INTO done10 DEFAULT VALUES;
SELECT snowflake_migration_start('busy10');
SELECT snowflake_migration_start('done10');
CALL snowflake_migration_backfill('done10', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('done10') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('done10');
ALTER EXTENSION snowflake UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
SELECT snowflake_migration_abort('busy10');
ALTER EXTENSION snowflake UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
SELECT relation, phase, source, source_value, map_rows, cut_over_at IS NOT NULL AS cut_over FROM snowflake_internal.snowflake_migration;
SELECT count(*) AS steps, bool_and(finished) AS finished FROM snowflake_internal.snowflake_migration_step WHERE relation = 'public.done10';
SELECT snowflake_migration_start('done10');
DROP TABLE busy10, done10;
DELETE FROM snowflake_internal.snowflake_migration_step;
DELETE FROM snowflake_internal.snowflake_migration;
DROP EXTENSION snowflake;

-- The state of every configuration table of both extensions, by table name (not schema or
-- extension: the update moves tables to snowflake_internal, snowflake_coordination takes the
-- lease tables over), one row per table.
CREATE FUNCTION extension_state() RETURNS TABLE (tbl name, content text)
LANGUAGE plpgsql AS $$
DECLARE
    c regclass;
BEGIN
    FOR c IN SELECT unnest(e.extconfig)::regclass FROM pg_extension e WHERE e.extname IN ('snowflake', 'snowflake_coordination') LOOP
        tbl := (SELECT relname FROM pg_class WHERE oid = c);
        EXECUTE format('SELECT coalesce(string_agg(t::text, %L ORDER BY t::text), %L) FROM %s t', ' | ', '', c)
            INTO content;
        RETURN NEXT;
    END LOOP;
END
$$;

-- 1.1, as users run it: a finished migration, one under way (backfilled, not cut over), leases
-- and a grant: an application database that was also the coordination database. The update keeps
-- all of it, the migration state in snowflake_internal, the lease objects in extension snowflake
-- (with a WARNING) until CREATE EXTENSION snowflake_coordination takes them over; the migration
-- under way finishes under the new version.
CREATE EXTENSION snowflake VERSION '1.1';
CREATE TABLE done11 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT '2024-06-01');
CREATE TABLE busy11 (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT '2024-07-01');
CREATE TABLE child11 (id bigint PRIMARY KEY DEFAULT snowflake_next(), parent uuid REFERENCES busy11);
INSERT INTO done11 DEFAULT VALUES;
INSERT INTO busy11 SELECT gen_random_uuid(), '2024-07-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 5) i;
INSERT INTO child11 (parent) SELECT id FROM busy11;
SELECT snowflake_migration_start('done11');
CALL snowflake_migration_backfill('done11', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('done11') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('done11');
SELECT snowflake_migration_start('busy11');
CALL snowflake_migration_backfill('busy11', time_column => 'created_at');
INSERT INTO snowflake_lease_grant VALUES ('postgres', '[10,19]');
INSERT INTO snowflake_lease_settings VALUES (true, '1 hour');
SELECT status, machine_id FROM snowflake_lease_claim('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                                                     10, 19, 0, 30000, 'node-a');
CREATE ROLE regress_sfu_watch;
GRANT SELECT ON snowflake_leases TO regress_sfu_watch;
CREATE TABLE state11 AS SELECT * FROM extension_state();
ALTER EXTENSION snowflake UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'snowflake') AS at_newest
FROM pg_extension WHERE extname = 'snowflake';
-- The state tables moved; nothing of the migration toolkit is left in the application's schema.
SELECT c.relnamespace::regnamespace AS schema, string_agg(c.relname, ', ' ORDER BY c.relname) AS tables
FROM pg_class c WHERE c.relkind IN ('r', 'v') AND c.relname LIKE 'snowflake%' GROUP BY 1 ORDER BY 1;
CREATE EXTENSION snowflake_coordination;
SELECT e.extname, count(*) AS lease_objects
FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.deptype = 'e' AND (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT oid FROM pg_class WHERE relname LIKE 'snowflake_lease%')
                           OR d.classid = 'pg_proc'::regclass AND d.objid IN (SELECT oid FROM pg_proc WHERE proname LIKE '%snowflake_lease%'))
GROUP BY 1;
-- The grant given under 1.1 stays, and is not taken for the extension's own: pg_dump writes it.
SELECT has_table_privilege('regress_sfu_watch', 'snowflake_leases', 'SELECT') AS watch_reads_leases,
       (SELECT count(*) FROM pg_init_privs i, aclexplode(i.initprivs) a
        WHERE a.grantee = 'regress_sfu_watch'::regrole) AS initial_privileges_of_watch;
SELECT count(*) > 0 AS state_rows_before,
       count(*) FILTER (WHERE content <> '') AS tables_with_rows
FROM state11;
SELECT 'lost by the update' AS side, * FROM (SELECT * FROM state11 EXCEPT ALL SELECT * FROM extension_state()) a
UNION ALL
SELECT 'changed by the update', * FROM (SELECT * FROM extension_state() WHERE tbl NOT IN ('snowflake_migration_lane', 'snowflake_migration_integer') EXCEPT ALL SELECT * FROM state11) b
ORDER BY 1, 2;
-- Nodes keep leasing: the same holder gets its id back.
SELECT status, machine_id FROM snowflake_lease_claim('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                                                     10, 19, 0, 30000, 'node-a');
-- New in 1.2: the migrations of tables keyed by integers, none after the update.
SELECT count(*) AS integer_migrations FROM snowflake_internal.snowflake_migration_integer;
-- New in 1.2: the IDs of the map built under 1.1 are recorded as taken, so that no later backfill repeats them.
SELECT relation, ms, slots FROM snowflake_internal.snowflake_migration_lane;
SELECT statement FROM snowflake_migration_plan('busy11') WHERE phase = 'index' \gexec
CALL snowflake_migration_cutover('busy11');
SELECT format_type(atttypid, atttypmod) AS busy11_id FROM pg_attribute WHERE attrelid = 'busy11'::regclass AND attname = 'id';
SELECT count(*) AS children, count(*) FILTER (WHERE c.parent = b.id) AS joined
FROM child11 c LEFT JOIN busy11 b ON b.id = c.parent;
CREATE TABLE updated11 AS SELECT * FROM extension_catalog();
REVOKE SELECT ON snowflake_leases FROM regress_sfu_watch;
CREATE TABLE updated11_coord AS SELECT * FROM extension_catalog('snowflake_coordination');
DROP TABLE done11, child11, busy11, state11;
DELETE FROM snowflake_internal.snowflake_migration_step;
DELETE FROM snowflake_internal.snowflake_migration;
DROP EXTENSION snowflake_coordination;
DROP ROLE regress_sfu_watch;
DROP EXTENSION snowflake;

-- The oldest released version, in use: its generator issues IDs before and after each update.
CREATE EXTENSION snowflake VERSION '1.0';
CREATE TABLE keyed (id bigint PRIMARY KEY DEFAULT snowflake_next(), version text);
INSERT INTO keyed (version) SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
ALTER EXTENSION snowflake UPDATE;
SELECT extversion = (SELECT default_version FROM pg_available_extensions WHERE name = 'snowflake') AS at_newest
FROM pg_extension WHERE extname = 'snowflake';
INSERT INTO keyed (version) SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
SELECT count(*) AS ids, bool_and(version = '1.0' OR id > (SELECT max(id) FROM keyed WHERE version = '1.0')) AS increasing
FROM keyed;
CREATE TABLE updated AS SELECT * FROM extension_catalog();

-- A fresh install of the newest version: in an application database, nothing of the leases.
DROP TABLE keyed;
DROP EXTENSION snowflake;
CREATE EXTENSION snowflake;
CREATE TABLE fresh AS SELECT * FROM extension_catalog();
SELECT count(*) AS lease_objects FROM pg_class WHERE relname LIKE 'snowflake_lease%';
CREATE EXTENSION snowflake_coordination;
CREATE TABLE fresh_coord AS SELECT * FROM extension_catalog('snowflake_coordination');
DROP EXTENSION snowflake_coordination;

-- Non-trivial (every kind of object is described), and the same fact for fact.
SELECT count(*) > 40 AS described, count(*) FILTER (WHERE fact LIKE 'CREATE OR REPLACE FUNCTION%') > 10 AS functions
FROM fresh;
SELECT 'only after update from 1.0' AS side, * FROM (SELECT * FROM updated EXCEPT ALL SELECT * FROM fresh) a
UNION ALL
SELECT 'only in fresh install (vs 1.0)', * FROM (SELECT * FROM fresh EXCEPT ALL SELECT * FROM updated) b
UNION ALL
SELECT 'only after update from 1.1', * FROM (SELECT * FROM updated11 EXCEPT ALL SELECT * FROM fresh) c
UNION ALL
SELECT 'only in fresh install (vs 1.1)', * FROM (SELECT * FROM fresh EXCEPT ALL SELECT * FROM updated11) d
UNION ALL
SELECT 'coordination: only when taken over from 1.1', * FROM (SELECT * FROM updated11_coord EXCEPT ALL SELECT * FROM fresh_coord) e
UNION ALL
SELECT 'coordination: only in fresh install', * FROM (SELECT * FROM fresh_coord EXCEPT ALL SELECT * FROM updated11_coord) f
ORDER BY 1, 2, 3;
SELECT count(*) > 10 AS coordination_described FROM fresh_coord;

-- A coordination database of 1.1 whose nodes relied on an empty snowflake_lease_grant (any role
-- granted the functions leased any id): the update gives each such role every id, with a
-- WARNING, so that its nodes keep renewing; 1.2 leases a role only the ids of its rows.
DROP EXTENSION snowflake;
CREATE EXTENSION snowflake VERSION '1.1';
CREATE ROLE regress_sfu_node LOGIN;
GRANT EXECUTE ON FUNCTION snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text),
                          snowflake_lease_renew(integer, uuid, uuid, bigint) TO regress_sfu_node;
SET client_min_messages = warning;
ALTER EXTENSION snowflake UPDATE;
SELECT holder_role, machine_ids FROM snowflake_lease_grant;
-- Its nodes keep leasing after the update, before snowflake_coordination takes the objects over.
SET SESSION AUTHORIZATION regress_sfu_node;
SELECT status, machine_id FROM snowflake_lease_claim('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-00000000000b',
                                                     5, 5, 0, 30000, 'node-b');
RESET SESSION AUTHORIZATION;
-- snowflake_coordination takes the objects over with the role's grants, which stay its own (not initial privileges).
CREATE EXTENSION snowflake_coordination;
SELECT has_function_privilege('regress_sfu_node', 'snowflake_lease_claim(uuid, uuid, integer, integer, bigint, integer, text, text)', 'EXECUTE') AS node_claims,
       has_function_privilege('regress_sfu_node', 'snowflake_lease_release(integer, uuid, uuid, bigint)', 'EXECUTE') AS node_releases,
       (SELECT count(*) FROM pg_init_privs i, aclexplode(i.initprivs) a WHERE a.grantee = 'regress_sfu_node'::regrole) AS initial_privileges_of_node,
       (SELECT count(*) FROM snowflake_lease_grant) AS grant_rows,
       (SELECT string_agg(holder_role || ' ' || machine_id, ', ') FROM snowflake_lease) AS leases;
DROP EXTENSION snowflake_coordination;
DROP EXTENSION snowflake;
DROP ROLE regress_sfu_node;

\c contrib_regression
DROP DATABASE snowflake_update;
