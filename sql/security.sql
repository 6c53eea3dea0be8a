-- A hostile non-superuser role against every function the extension ships: planted operators and
-- functions in a schema on the superuser's search_path, stored state, order_by injection, another
-- owner's migration, writers without new grants, DROP EXTENSION in the middle of a migration.
-- The invariants, checked at the end: nobody but the hostile role ever ran its code, it gained no
-- privilege, and the other owners' objects and migration state are as they were.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
\set VERBOSITY terse
SET timezone = 'UTC';
SET client_min_messages = warning;

-- Each role logs in as itself where it acts on its own (SET ROLE is no boundary: RESET ROLE
-- returns to the session's superuser, and the backfill refuses such a session).
CREATE ROLE regress_sf_mallory LOGIN;   -- hostile: CREATE on public, owns tables of its own
CREATE ROLE regress_sf_alice LOGIN;     -- owns tables it migrates, not a superuser
CREATE ROLE regress_sf_bob LOGIN;       -- another owner
CREATE ROLE regress_sf_writer LOGIN;    -- the application: INSERT on alice's referencing table only
GRANT CREATE ON SCHEMA public TO regress_sf_mallory, regress_sf_alice, regress_sf_bob;

-- ---- The hostile role's traps: anyone who runs its code leaves a row here ----
SET ROLE regress_sf_mallory;
CREATE TABLE public.pwned (who name, what text);
GRANT INSERT, SELECT ON public.pwned TO PUBLIC;
CREATE FUNCTION public.pwn(what text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.pwned VALUES (current_user, what);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_sf_mallory SUPERUSER';
    END IF;
END $$;
-- Operators and functions that shadow what the extension's functions call: a better match than
-- pg_catalog's for mixed argument types (bigint & integer), and the same signature for a caller
-- whose search_path puts public before pg_catalog.
DO $$
DECLARE
    o record;
    f record;
    i int := 0;
BEGIN
    FOR o IN SELECT * FROM (VALUES ('&', 'bigint', 'integer', 'bigint'), ('%', 'bigint', 'integer', 'bigint'),
                                   ('>>', 'bigint', 'integer', 'bigint'), ('<<', 'bigint', 'integer', 'bigint'),
                                   ('*', 'bigint', 'integer', 'bigint'), ('+', 'bigint', 'integer', 'bigint'),
                                   ('-', 'bigint', 'integer', 'bigint'), ('/', 'bigint', 'integer', 'bigint'),
                                   ('=', 'uuid', 'uuid', 'boolean'), ('=', 'text', 'text', 'boolean'),
                                   ('=', 'integer', 'integer', 'boolean'), ('<>', 'integer', 'integer', 'boolean'),
                                   ('=', 'bigint', 'bigint', 'boolean'), ('<', 'bigint', 'integer', 'boolean'),
                                   ('>', 'bigint', 'integer', 'boolean'), ('>=', 'bigint', 'integer', 'boolean'),
                                   ('=', 'oid', 'oid', 'boolean'), ('=', 'name', 'name', 'boolean'),
                                   ('=', 'name', 'text', 'boolean'), ('||', 'text', 'text', 'text'),
                                   ('<@', 'integer', 'int4range', 'boolean'), ('!~', 'text', 'text', 'boolean'),
                                   ('~', 'text', 'text', 'boolean'), ('>=', 'tid', 'tid', 'boolean'),
                                   ('<', 'tid', 'tid', 'boolean'), ('?', 'jsonb', 'text', 'boolean'),
                                   ('->>', 'jsonb', 'text', 'text'), ('&', 'smallint', 'integer', 'integer')) v(op, l, r, res)
    LOOP
        i := i + 1;
        EXECUTE format('CREATE FUNCTION public.trap_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog AS $b$BEGIN PERFORM public.pwn(%L); RETURN $1 OPERATOR(pg_catalog.%s) $2; END$b$',
                       i, o.l, o.r, o.res, 'operator ' || o.op, o.op);
        EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.trap_op_%s)', o.op, o.l, o.r, i);
    END LOOP;
    FOR f IN SELECT * FROM (VALUES ('isempty', 'int4range', 'boolean'), ('lower', 'int4range', 'integer'),
                                   ('upper', 'int4range', 'integer'), ('lower_inf', 'int4range', 'boolean'),
                                   ('upper_inf', 'int4range', 'boolean'), ('cardinality', 'text[]', 'integer'),
                                   ('cardinality', 'integer[]', 'integer'), ('cardinality', 'oid[]', 'integer'),
                                   ('cardinality', 'smallint[]', 'integer'), ('quote_ident', 'text', 'text'),
                                   ('quote_literal', 'text', 'text'), ('md5', 'text', 'text'),
                                   ('to_jsonb', 'anyelement', 'jsonb'), ('uuid_send', 'uuid', 'bytea'),
                                   ('to_regclass', 'text', 'regclass'), ('octet_length', 'text', 'integer'),
                                   ('pg_relation_size', 'regclass', 'bigint'), ('current_setting', 'text', 'text'),
                                   ('lower', 'text', 'text'), ('pg_get_userbyid', 'oid', 'name')) v(fn, arg, res)
    LOOP
        EXECUTE format('CREATE FUNCTION public.%I(%s) RETURNS %s LANGUAGE plpgsql SET search_path = pg_catalog AS $b$BEGIN PERFORM public.pwn(%L); RETURN pg_catalog.%I($1); END$b$',
                       f.fn, f.arg, f.res, 'function ' || f.fn, f.fn);
    END LOOP;
    CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function current_setting'); RETURN pg_catalog.current_setting($1, $2); END$b$;
    CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function format'); RETURN pg_catalog.format($1, $2); END$b$;
    CREATE FUNCTION public.left(text, integer) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function left'); RETURN pg_catalog.left($1, $2); END$b$;
    CREATE FUNCTION public.substr(text, integer, integer) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function substr'); RETURN pg_catalog.substr($1, $2, $3); END$b$;
    CREATE FUNCTION public.encode(bytea, text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function encode'); RETURN pg_catalog.encode($1, $2); END$b$;
    CREATE FUNCTION public.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function set_config'); RETURN pg_catalog.set_config($1, $2, $3); END$b$;
    CREATE FUNCTION public.pg_has_role(name, name, text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function pg_has_role'); RETURN true; END$b$;
    CREATE FUNCTION public.pg_has_role(oid, text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog
        AS $b$BEGIN PERFORM public.pwn('function pg_has_role'); RETURN true; END$b$;
END $$;
-- The hostile role's own table, with a trigger that runs its code as whoever writes the table.
CREATE TABLE public.mallory_t (id uuid PRIMARY KEY, created_at timestamptz NOT NULL, name text);
CREATE FUNCTION public.mallory_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM public.pwn('trigger on mallory_t'); RETURN NEW; END $$;
CREATE TRIGGER mallory_trigger BEFORE UPDATE ON public.mallory_t FOR EACH ROW EXECUTE FUNCTION public.mallory_trigger();
INSERT INTO public.mallory_t SELECT gen_random_uuid(), timestamptz '2024-06-01 00:00:00+00' + n * interval '1 second', 'm' || n FROM generate_series(1, 20) n;
RESET ROLE;

-- ---- Every function of both extensions (snowflake, and snowflake_coordination made by leases.sql) that is not C must pin its search_path, and nothing the extension
-- ships grants a write to PUBLIC: this catches functions and tables added later. LANGUAGE
-- internal (the type snowflake's functions: bigint's own C code, and its min/max aggregates) runs
-- no SQL and looks nothing up by name, like C. Listed here and known: the two procedures (a SET
-- clause forbids COMMIT) and the text forms of the migration functions and snowflake_migration_key,
-- which resolve the table's name on the caller's search_path on purpose and qualify everything
-- else (src/sql/call_forms.sql, src/sql/migration/key.sql) ----
SELECT p.oid::regprocedure AS unpinned_function
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
JOIN pg_language l ON l.oid = p.prolang
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid IN (SELECT oid FROM pg_extension WHERE extname IN ('snowflake', 'snowflake_coordination'))
  AND d.deptype = 'e' AND l.lanname NOT IN ('c', 'internal')
  AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
ORDER BY p.oid::regprocedure::text;
SELECT p.oid::regprocedure AS definer_function, p.proconfig
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid IN (SELECT oid FROM pg_extension WHERE extname IN ('snowflake', 'snowflake_coordination'))
  AND d.deptype = 'e' AND p.prosecdef
ORDER BY p.oid::regprocedure::text;
SELECT c.oid::regclass AS relation, a.privilege_type, c.relrowsecurity AS row_security
FROM pg_depend d JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid IN (SELECT oid FROM pg_extension WHERE extname IN ('snowflake', 'snowflake_coordination'))
  AND d.deptype = 'e' AND a.grantee = 0
ORDER BY c.oid::regclass::text, 2;

-- ---- Alice migrates her own tables as herself: no superuser, no grant on anything shared ----
SET ROLE regress_sf_alice;
CREATE TABLE public.alice_parent (id uuid PRIMARY KEY, created_at timestamptz NOT NULL, name text NOT NULL);
CREATE TABLE public.alice_child (cid serial PRIMARY KEY, parent_id uuid NOT NULL REFERENCES public.alice_parent, note text);
INSERT INTO public.alice_parent SELECT gen_random_uuid(), timestamptz '2024-07-01 00:00:00+00' + n * interval '1 minute', 'a' || n FROM generate_series(1, 50) n;
INSERT INTO public.alice_child (parent_id, note) SELECT id, name FROM public.alice_parent;
GRANT INSERT (parent_id, note) ON public.alice_child TO regress_sf_writer;   -- by column: it names the key
GRANT USAGE ON SEQUENCE public.alice_child_cid_seq TO regress_sf_writer;
RESET ROLE;
-- The application cannot read the parent: it is handed a key, as an application gets one.
SELECT format('INSERT INTO public.alice_child (parent_id, note) VALUES (%L, %L)', id, 'during') AS during_insert,
       format('INSERT INTO public.alice_child (parent_id, note) VALUES (%L, %L)', id, 'before') AS before_insert
FROM public.alice_parent WHERE name = 'a2' \gset
-- It can write before the migration (INSERT on two columns of alice_child is all it has)...
SET ROLE regress_sf_writer;
:before_insert;
RESET ROLE;
\c - regress_sf_alice
SET client_min_messages = warning;
SELECT snowflake_migration_start('public.alice_parent');
-- ...so it must during and after it, with no new grant.
\c - regress_sf_writer
:during_insert;
\c - regress_sf_alice
SET client_min_messages = warning;
SELECT count(*) AS children_with_twin FROM public.alice_child WHERE note = 'during' AND parent_id_snowflake IS NOT NULL;
-- The trigger that fills the twin runs as the owner of its table (who reads the parent), callable by no one else.
SELECT proowner::regrole AS owner, prosecdef AS definer, proconfig, proacl FROM pg_proc WHERE proname LIKE 'snowflake_fill_%';
-- order_by is a list of the table's columns, nothing else, refused before anything is written.
CALL snowflake_migration_backfill('public.alice_parent', order_by => 'name) - 1 FROM public.alice_parent WHERE false; DROP TABLE public.bob_t; SELECT row_number() OVER (ORDER BY 1');
CALL snowflake_migration_backfill('public.alice_parent', order_by => 'name; DROP TABLE public.bob_t');
CALL snowflake_migration_backfill('public.alice_parent', order_by => 'lower(name)');
CALL snowflake_migration_backfill('public.alice_parent', order_by => 'no_such_column');
CALL snowflake_migration_backfill('public.alice_parent', order_by => 'name DESC NULLS FIRST, id');
SELECT relation, phase, source, source_value, map_rows FROM snowflake_internal.snowflake_migration;
-- Alice sees her migration and nothing else. Her own rows are hers to spoil (nothing in them is
-- ever executed, and they cannot name another owner's table); another owner's are out of reach.
SELECT count(*) AS visible_steps FROM snowflake_internal.snowflake_migration_step;
INSERT INTO snowflake_internal.snowflake_migration_map (relation, n, key, new_id) VALUES ('public.bob_t', 999, gen_random_uuid(), 1);
INSERT INTO snowflake_internal.snowflake_migration_step (relation, step, phase, kind, target) VALUES ('public.mallory_t', 1, 'start', 'ddl', 'public.mallory_t');
INSERT INTO snowflake_internal.snowflake_migration (relation, key_column, new_column, phase) VALUES ('alice_parent', 'id', 'id_snowflake', 'started');
\c - postgres
SET client_min_messages = warning;

-- ---- Bob's migration: the hostile role cannot see, change or stop it ----
\c - regress_sf_bob
SET client_min_messages = warning;
CREATE TABLE public.bob_t (id uuid PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE public.bob_ref (bob_id uuid REFERENCES public.bob_t);
INSERT INTO public.bob_t SELECT gen_random_uuid(), timestamptz '2024-08-01 00:00:00+00' + n * interval '1 hour' FROM generate_series(1, 30) n;
INSERT INTO public.bob_ref SELECT id FROM public.bob_t;
SELECT snowflake_migration_start('public.bob_t');
\c - postgres
SET client_min_messages = warning;
CREATE TABLE bob_state_before AS
SELECT 'migration' AS t, to_jsonb(m) - 'started_at' AS row FROM snowflake_internal.snowflake_migration m WHERE relation = 'public.bob_t'
UNION ALL SELECT 'step', to_jsonb(s) FROM snowflake_internal.snowflake_migration_step s WHERE relation = 'public.bob_t'
UNION ALL SELECT 'column', to_jsonb(a) - 'attrelid' FROM pg_attribute a WHERE attrelid IN ('public.bob_t'::regclass, 'public.bob_ref'::regclass) AND attnum > 0
UNION ALL SELECT 'trigger', to_jsonb(t.tgname) FROM pg_trigger t WHERE tgrelid IN ('public.bob_t'::regclass, 'public.bob_ref'::regclass);

\c - regress_sf_mallory
SET client_min_messages = warning;
SELECT count(*) AS mallory_sees_migrations FROM snowflake_internal.snowflake_migration;
SELECT count(*) AS mallory_sees_steps FROM snowflake_internal.snowflake_migration_step;
SELECT count(*) AS mallory_sees_map FROM snowflake_internal.snowflake_migration_map;
DELETE FROM snowflake_internal.snowflake_migration_step WHERE relation = 'public.bob_t';
DELETE FROM snowflake_internal.snowflake_migration WHERE relation = 'public.bob_t';
INSERT INTO snowflake_internal.snowflake_migration_step (relation, step, phase, kind, target) VALUES ('public.bob_t', 1000, 'cutover', 'ddl', 'public.bob_t');
INSERT INTO snowflake_internal.snowflake_migration_map (relation, n, key, new_id) VALUES ('public.bob_t', 1000, gen_random_uuid(), 1);
UPDATE snowflake_internal.snowflake_migration SET phase = 'done' WHERE relation = 'public.bob_t';
SELECT snowflake_migration_abort('public.bob_t');
CALL snowflake_migration_backfill('public.bob_t', time_column => 'created_at');
CALL snowflake_migration_cutover('public.bob_t');
SELECT count(*) FROM snowflake_migration_plan('public.bob_t');
SELECT snowflake_migration_start('public.bob_ref');
-- Every internal function of the extension, called directly with bob's table.
DO $$
DECLARE
    f record;
    outcome text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS fn, p.prokind, p.pronargs, p.proargtypes::regtype[] AS args
             FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid IN (SELECT oid FROM pg_extension WHERE extname IN ('snowflake', 'snowflake_coordination'))
               AND d.deptype = 'e' AND p.proname LIKE '\_snowflake%' AND p.prorettype <> 'trigger'::regtype
                   AND p.prorettype <> 'event_trigger'::regtype
             ORDER BY p.oid::regprocedure::text
    LOOP
        BEGIN
            EXECUTE format('SELECT %s(%s)', p_name, args) FROM (SELECT (f.fn::oid)::regproc::text AS p_name,
                (SELECT string_agg(CASE t WHEN 'regclass'::regtype THEN quote_literal('public.bob_t') || '::regclass'
                                          WHEN 'text'::regtype THEN quote_literal('public.bob_t')
                                          ELSE 'NULL::' || t::text END, ', ')
                 FROM unnest(f.args) t) AS args) s;
            outcome := 'no error';
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE;
        END;
        RAISE WARNING '% -> %', f.fn, CASE WHEN outcome = 'no error' THEN 'no error' ELSE 'refused' END;
    END LOOP;
END $$;
\c - postgres
SET client_min_messages = warning;
SELECT t, row FROM (SELECT * FROM bob_state_before EXCEPT ALL
    SELECT * FROM (SELECT 'migration' AS t, to_jsonb(m) - 'started_at' AS row FROM snowflake_internal.snowflake_migration m WHERE relation = 'public.bob_t'
    UNION ALL SELECT 'step', to_jsonb(s) FROM snowflake_internal.snowflake_migration_step s WHERE relation = 'public.bob_t'
    UNION ALL SELECT 'column', to_jsonb(a) - 'attrelid' FROM pg_attribute a WHERE attrelid IN ('public.bob_t'::regclass, 'public.bob_ref'::regclass) AND attnum > 0
    UNION ALL SELECT 'trigger', to_jsonb(t.tgname) FROM pg_trigger t WHERE tgrelid IN ('public.bob_t'::regclass, 'public.bob_ref'::regclass)) now) changed;

-- ---- A superuser whose search_path puts the hostile schema first calls every function ----
CREATE TABLE su_parent (id uuid PRIMARY KEY, created_at timestamptz NOT NULL, name text, tenant int NOT NULL DEFAULT 1,
                        UNIQUE (tenant, id));
CREATE TABLE su_child (cid serial PRIMARY KEY, tenant int, parent_id uuid REFERENCES su_parent, self_id uuid,
                       FOREIGN KEY (tenant, parent_id) REFERENCES su_parent (tenant, id));
CREATE INDEX su_child_parent_idx ON su_child (parent_id DESC NULLS LAST);
INSERT INTO su_parent (id, created_at, name)
SELECT gen_random_uuid(), timestamptz '2024-09-01 00:00:00+00' + n * interval '1 second', 's' || n FROM generate_series(1, 40) n;
INSERT INTO su_child (tenant, parent_id) SELECT 1, id FROM su_parent;
CREATE TABLE su_v7 (id uuid PRIMARY KEY);
INSERT INTO su_v7 VALUES ('018fcbb6-ba15-7abc-8def-0123456789ab'), ('018fcbb6-ba16-7abc-8def-0123456789ab');
CREATE TABLE guarded (id bigint);
CREATE TRIGGER guard BEFORE INSERT OR UPDATE ON guarded FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated();
ALTER TABLE guarded ENABLE REPLICA TRIGGER guard;
CREATE TABLE guarded_named (a bigint, b bigint);
CREATE TRIGGER guard BEFORE INSERT OR UPDATE ON guarded_named FOR EACH ROW EXECUTE FUNCTION snowflake_guard_replicated('a', 'b');
ALTER TABLE guarded_named ENABLE REPLICA TRIGGER guard;

SET search_path = public, pg_catalog;
-- (This file's own comparisons say OPERATOR(pg_catalog....): only the extension's code is on trial.)
SELECT snowflake_next() OPERATOR(pg_catalog.>) 0 AS next, (snowflake_decode(4198401)).machine_id, snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1),
       snowflake_timestamp(4198401), snowflake_machine_id(4198401), (snowflake_status()).machine_id AS status;
SELECT snowflake_uuid_time('018fcbb6-ba15-7abc-8def-0123456789ab') AS v7, snowflake_uuid_time('c232ab00-9414-11ec-b3c8-9f6bdeced846') AS v1;
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b', 'c'], ARRAY[1, 2, 1]);
SET session_replication_role = replica;
INSERT INTO guarded VALUES (snowflake_compose('2024-01-01 00:00:00+00', 7, 0));
INSERT INTO guarded_named VALUES (snowflake_compose('2024-01-01 00:00:00+00', 7, 0), NULL);
UPDATE guarded SET id = snowflake_compose('2024-01-01 00:00:00+00', 8, 0);
INSERT INTO guarded VALUES (snowflake_compose('2024-01-01 00:00:00+00', 42, 0));
SET session_replication_role = origin;
SELECT count(*) AS plan_steps FROM snowflake_migration_plan('su_parent');
SELECT snowflake_migration_start('su_parent');
CALL snowflake_migration_backfill('su_parent', order_by => 'tenant, "name" DESC, created_at NULLS FIRST', batch_size => 15);
SELECT statement FROM snowflake_migration_plan('su_parent') WHERE phase OPERATOR(pg_catalog.=) 'index' \gexec
CALL snowflake_migration_cutover('su_parent');
SELECT snowflake_migration_start('su_v7');
CALL snowflake_migration_backfill('su_v7', uuid_time => true);
SELECT snowflake_migration_abort('su_v7');
SELECT snowflake_migration_start('su_v7');
CALL snowflake_migration_backfill('su_v7', time_column => NULL, uuid_time => true);
SELECT snowflake_migration_abort('su_v7');
-- ...and the hostile role's own table: its trigger runs, as the hostile role alone.
SELECT snowflake_migration_plan('mallory_t') IS NOT NULL AS planned LIMIT 1;
DROP EXTENSION IF EXISTS no_such_extension;
RESET search_path;
SELECT DISTINCT who, what FROM public.pwned ORDER BY 1, 2;

-- ---- The same with the hostile schema behind pg_catalog (the default "$user", public) ----
SELECT snowflake_uuid_time('1ec9414c-232a-6b00-b3c8-9f6bdeced846') AS v6;
SELECT * FROM snowflake_shared_machine_ids(ARRAY['a', 'b'], ARRAY[3, 3]);
SET session_replication_role = replica;
INSERT INTO guarded VALUES (snowflake_compose('2024-01-01 00:00:00+00', 9, 0));
SET session_replication_role = origin;
SELECT count(*) AS plan_steps FROM snowflake_migration_plan('su_v7');
SELECT snowflake_migration_start('su_v7');
CALL snowflake_migration_backfill('su_v7', time_column => NULL, uuid_time => true);
SELECT snowflake_migration_abort('su_v7');
SELECT DISTINCT who, what FROM public.pwned ORDER BY 1, 2;

-- ---- A superuser finishes alice's migration: alice's objects change as planned, nobody else's ----
SET search_path = public, pg_catalog;
SELECT statement FROM snowflake_migration_plan('public.alice_parent') WHERE phase OPERATOR(pg_catalog.=) 'index' \gexec
CALL snowflake_migration_cutover('public.alice_parent');
RESET search_path;
-- After the cut-over the application writes the bigint key it is handed.
SELECT format('INSERT INTO public.alice_child (parent_id, note) VALUES (%s, %L)', id, 'after') AS after_insert
FROM public.alice_parent WHERE name = 'a2' \gset
\c - regress_sf_writer
:after_insert;
\c - postgres
SET client_min_messages = warning;
SELECT note, count(*), bool_and(c.parent_id = p.id) AS references_the_new_key, pg_typeof(min(c.parent_id)) AS type
FROM public.alice_child c JOIN public.alice_parent p ON p.id = c.parent_id WHERE note IN ('before', 'during', 'after') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid IN ('public.alice_parent'::regclass, 'public.alice_child'::regclass) AND NOT tgisinternal;

-- ---- The hostile role migrates its own table; a superuser would write its rows for it ----
\c - regress_sf_mallory
SET client_min_messages = warning;
SELECT snowflake_migration_start('public.mallory_t');
\c - postgres
SET client_min_messages = warning;
SET search_path = public, pg_catalog;
CALL snowflake_migration_backfill('public.mallory_t', time_column => 'created_at');
SET ROLE regress_sf_mallory;
CALL snowflake_migration_backfill('public.mallory_t', time_column => 'created_at');
RESET ROLE;
SELECT snowflake_migration_abort('public.mallory_t');
RESET search_path;
SELECT DISTINCT who, what FROM public.pwned ORDER BY 1, 2;

-- ---- DROP EXTENSION in the middle of a migration is refused, with the way out ----
\c - regress_sf_bob
SET client_min_messages = warning;
CALL snowflake_migration_backfill('public.bob_t', time_column => 'created_at');
\c - postgres
SET client_min_messages = warning;
\set VERBOSITY default
DROP EXTENSION snowflake CASCADE;
DROP EXTENSION IF EXISTS foo, "snowflake";
\set VERBOSITY terse
\c - regress_sf_bob
SET client_min_messages = warning;
INSERT INTO public.bob_t VALUES (gen_random_uuid(), now());
INSERT INTO public.bob_ref SELECT id FROM public.bob_t LIMIT 1;
SELECT snowflake_migration_abort('public.bob_t');
\c - postgres
SET client_min_messages = warning;

-- ---- The invariants ----
SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname LIKE 'regress_sf_%' ORDER BY 1;
SELECT r.rolname AS member_of FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
WHERE m.member = 'regress_sf_mallory'::regrole;
SELECT count(*) AS code_of_mallory_run_by_others FROM public.pwned WHERE who <> 'regress_sf_mallory';
SELECT to_regclass('public.bob_t') IS NOT NULL AS bob_t_exists;

-- ---- Clean up ----
DROP TABLE su_child, su_parent, su_v7, guarded, guarded_named, bob_state_before;
DROP TABLE public.alice_child, public.alice_parent, public.bob_ref, public.bob_t;
DROP OWNED BY regress_sf_mallory, regress_sf_alice, regress_sf_bob, regress_sf_writer;
DELETE FROM snowflake_internal.snowflake_migration;
DROP ROLE regress_sf_mallory, regress_sf_alice, regress_sf_bob, regress_sf_writer;
