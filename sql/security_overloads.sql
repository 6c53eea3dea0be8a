-- A hostile role that can create in the extension's schema plants functions and operators with the
-- exact types of the calls the README shows (a string literal for a time, an ID or a table, a
-- snowflake column, max(id) >> 22, id + 1) and look-alikes that made the extension's own internal
-- calls ambiguous. A superuser then runs those calls with the default search_path: only the
-- extension's code may run, and every call must work. Then CREATE EXTENSION itself in a schema
-- with a squatter, and in a schema others can create in.
CREATE EXTENSION IF NOT EXISTS snowflake;
\set SHOW_CONTEXT never
\set VERBOSITY terse
SET timezone = 'UTC';
SET client_min_messages = notice;
CREATE ROLE regress_sfo_mallory LOGIN;
GRANT CREATE ON SCHEMA public TO regress_sfo_mallory;

SET ROLE regress_sfo_mallory;
CREATE TABLE public.sfo_pwned (who name, what text);
GRANT INSERT, SELECT ON public.sfo_pwned TO PUBLIC;
CREATE FUNCTION public.sfo_pwn(what text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    INSERT INTO public.sfo_pwned VALUES (current_user, what);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE regress_sfo_mallory SUPERUSER';
    END IF;
END $$;
-- Each plant is tried on its own; it may be refused (the extension holds that signature already).
DO $do$
DECLARE
    stmt text;
    n int := 0;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        -- documented call forms
        $s$CREATE FUNCTION public.snowflake_compose(text, integer, integer) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('compose(text, int, int)'); RETURN 0; END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_decode(snowflake, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('decode(snowflake)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_decode(integer, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('decode(integer)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_decode(text, OUT ts timestamptz, OUT machine_id integer, OUT sequence integer) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('decode(text)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_timestamp(snowflake) RETURNS timestamptz LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('timestamp(snowflake)'); RETURN now(); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_timestamp(integer) RETURNS timestamptz LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('timestamp(integer)'); RETURN now(); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_machine_id(snowflake) RETURNS integer LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('machine_id(snowflake)'); RETURN 0; END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_uuid_time(text) RETURNS timestamptz LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('uuid_time(text)'); RETURN now(); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_migration_plan(text) RETURNS TABLE (step integer, phase text, target text, statement text, status text) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('migration_plan(text)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_migration_start(text, interval, interval) RETURNS void LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('migration_start(text, interval, interval)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_migration_abort(text, interval, interval) RETURNS void LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('migration_abort(text, interval, interval)'); END$b$$s$,
        $s$CREATE PROCEDURE public.snowflake_migration_backfill(tbl text, time_column name DEFAULT NULL, uuid_time boolean DEFAULT NULL, order_by text DEFAULT NULL, backfill_machine_ids int4range DEFAULT NULL, pre_epoch text DEFAULT NULL, batch_size integer DEFAULT 10000) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('migration_backfill(text, ...)'); END$b$$s$,
        $s$CREATE PROCEDURE public.snowflake_migration_cutover(tbl text, lock_wait interval DEFAULT '100 ms', give_up_after interval DEFAULT '10 min') LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('migration_cutover(text, ...)'); END$b$$s$,
        $s$CREATE FUNCTION public.sfo_shr(snowflake, integer) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('operator >>'); RETURN $1::bigint OPERATOR(pg_catalog.>>) $2; END$b$$s$,
        $s$CREATE OPERATOR public.>> (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = public.sfo_shr)$s$,
        $s$CREATE FUNCTION public.sfo_add(snowflake, integer) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('operator +'); RETURN $1::bigint OPERATOR(pg_catalog.+) $2; END$b$$s$,
        $s$CREATE OPERATOR public.+ (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = public.sfo_add)$s$,
        $s$CREATE FUNCTION public.sfo_sub(snowflake, integer) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('operator -'); RETURN $1::bigint OPERATOR(pg_catalog.-) $2; END$b$$s$,
        $s$CREATE OPERATOR public.- (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = public.sfo_sub)$s$,
        -- look-alikes that made the extension's internal calls (which relied on defaults) ambiguous
        $s$CREATE FUNCTION public._snowflake_migration_steps(regclass) RETURNS TABLE (step integer, phase text, kind text, target text, object text, statement text, undo text) LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('_snowflake_migration_steps(regclass)'); END$b$$s$,
        $s$CREATE FUNCTION public.snowflake_compose(timestamptz) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('compose(timestamptz)'); RETURN 0; END$b$$s$
    ] LOOP
        n := n + 1;
        BEGIN
            EXECUTE stmt;
            RAISE NOTICE 'plant %: created', n;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'plant %: refused (%)', n, SQLSTATE;
        END;
    END LOOP;
END $do$;
RESET ROLE;

-- ---- A superuser runs the README's calls, default search_path ("$user", public) ----
SHOW search_path;
CREATE TABLE sfo_posts (id snowflake PRIMARY KEY, made timestamptz);
INSERT INTO sfo_posts VALUES (snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1), '2024-01-01 00:00:00.001+00'),
                             (4198402, '2024-01-01 00:00:00.001+00');
SELECT snowflake_compose('2024-01-01 00:00:00.001+00', 1, 1) AS composed, snowflake_compose('2025-03-01') AS day;
SELECT p.id, d.* FROM sfo_posts p, snowflake_decode(p.id) d ORDER BY p.id;
SELECT (snowflake_decode(4198401)).ts, snowflake_timestamp(4198401), snowflake_machine_id(4198401);
SELECT (snowflake_decode('4198401')).machine_id, snowflake_timestamp('4198401'), snowflake_machine_id('4198401');
SELECT snowflake_timestamp(id) AS made, snowflake_machine_id(id) AS machine, id + 1 AS plus, id - 1 AS minus
FROM sfo_posts ORDER BY id;
SELECT (max(id) >> 22) + 60000 AS mark, snowflake_timestamp(max(id)) AS newest FROM sfo_posts;
SELECT count(*) AS from_day FROM sfo_posts WHERE id >= snowflake_compose('2024-01-01 00:00:00+00') AND id < snowflake_compose('2024-01-02 00:00:00+00');
SELECT snowflake_uuid_time('018fcbb6-ba15-7abc-8def-0123456789ab') AS v7;
CREATE TABLE sfo_authors (id uuid PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO sfo_authors SELECT gen_random_uuid(), timestamptz '2024-06-01 00:00:00+00' + n * interval '1 second' FROM generate_series(1, 10) n;
CREATE TABLE sfo_other (id uuid PRIMARY KEY, created_at timestamptz NOT NULL);
SELECT count(*) > 0 AS planned FROM snowflake_migration_plan('sfo_authors');
SELECT snowflake_migration_start('sfo_authors');
CALL snowflake_migration_backfill('sfo_authors', time_column => 'created_at');
SELECT statement FROM snowflake_migration_plan('sfo_authors') WHERE phase = 'index' AND status <> 'done' \gexec
CALL snowflake_migration_cutover('sfo_authors', lock_wait => '100 ms', give_up_after => '10 min');
SELECT pg_typeof(id) AS key_type, count(*) FROM sfo_authors GROUP BY 1;
SELECT snowflake_migration_start('sfo_other');
SELECT snowflake_migration_abort('sfo_other');
-- What such a role can still do: plant an overload that differs only by defaults, which makes a
-- call ambiguous. It fails; the planted code never runs.
SET ROLE regress_sfo_mallory;
CREATE FUNCTION public.snowflake_compose(text) RETURNS bigint LANGUAGE plpgsql AS $b$BEGIN PERFORM public.sfo_pwn('compose(text)'); RETURN 0; END$b$;
RESET ROLE;
SELECT snowflake_compose('2025-03-01');
SELECT snowflake_compose('2025-03-01'::timestamptz);
DROP FUNCTION public.snowflake_compose(text);
SELECT count(*) AS code_of_mallory_run FROM public.sfo_pwned;
SELECT DISTINCT who, what FROM public.sfo_pwned ORDER BY 1, 2;
SELECT rolsuper AS mallory_is_superuser FROM pg_roles WHERE rolname = 'regress_sfo_mallory';

-- ---- CREATE EXTENSION where the schema holds another role's look-alikes, and where others can create ----
DROP TABLE sfo_posts, sfo_authors, sfo_other;
DELETE FROM snowflake_internal.snowflake_migration_step;
DELETE FROM snowflake_internal.snowflake_migration;
CREATE DATABASE regress_sfo_db;
\c regress_sfo_db
\set SHOW_CONTEXT never
\set VERBOSITY default
CREATE SCHEMA squat_type;
CREATE SCHEMA squat_fn;
CREATE SCHEMA open_schema;
GRANT CREATE ON SCHEMA squat_type, squat_fn, open_schema TO regress_sfo_mallory;
GRANT CREATE ON SCHEMA open_schema TO PUBLIC;
SET ROLE regress_sfo_mallory;
CREATE DOMAIN squat_type.snowflake AS bigint;
CREATE FUNCTION squat_fn.snowflake_decode(smallint) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE FUNCTION squat_fn._snowflake_owns(text, integer DEFAULT 0) RETURNS boolean LANGUAGE sql AS 'SELECT true';
RESET ROLE;
CREATE EXTENSION snowflake SCHEMA squat_type;
CREATE EXTENSION snowflake SCHEMA squat_fn;
CREATE EXTENSION snowflake SCHEMA open_schema;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
-- The update from 1.1 checks the same, before and after it creates 1.2's objects.
DROP EXTENSION snowflake;
CREATE SCHEMA upd;
CREATE EXTENSION snowflake VERSION '1.1' SCHEMA upd;
GRANT CREATE, USAGE ON SCHEMA upd TO regress_sfo_mallory;
SET ROLE regress_sfo_mallory;
CREATE FUNCTION upd.snowflake_decode(smallint) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE FUNCTION upd.sfo_mod(upd.snowflake, integer) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE OPERATOR upd.% (LEFTARG = upd.snowflake, RIGHTARG = integer, FUNCTION = upd.sfo_mod);
RESET ROLE;
ALTER EXTENSION snowflake UPDATE;
DROP FUNCTION upd.snowflake_decode(smallint);
ALTER EXTENSION snowflake UPDATE;
DROP OPERATOR upd.% (upd.snowflake, integer);
ALTER EXTENSION snowflake UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
-- The schema of the extension's state, snowflake_internal, is the extension's own: one that another
-- role made first is refused (42710) by CREATE EXTENSION and by the update from 1.1, before anything changes.
DROP FUNCTION upd.sfo_mod(upd.snowflake, integer);
DROP EXTENSION snowflake;
GRANT CREATE ON DATABASE regress_sfo_db TO regress_sfo_mallory;
SET ROLE regress_sfo_mallory;
CREATE SCHEMA snowflake_internal;
RESET ROLE;
CREATE EXTENSION snowflake;
\echo :LAST_ERROR_SQLSTATE
CREATE EXTENSION snowflake VERSION '1.1' SCHEMA upd;
ALTER EXTENSION snowflake UPDATE;
\echo :LAST_ERROR_SQLSTATE
SELECT extversion, (SELECT count(*) FROM pg_class WHERE relnamespace = 'snowflake_internal'::regnamespace) AS relations_in_mallorys_schema
FROM pg_extension WHERE extname = 'snowflake';
SET ROLE regress_sfo_mallory;
DROP SCHEMA snowflake_internal;
RESET ROLE;
ALTER EXTENSION snowflake UPDATE;
-- The extension's schema: owned by who ran the update, nobody else may create in it, everyone may use it.
SELECT extversion, n.nspowner::regrole AS owner, n.nspacl
FROM pg_extension e, pg_namespace n WHERE e.extname = 'snowflake' AND n.nspname = 'snowflake_internal';
\c contrib_regression
DROP DATABASE regress_sfo_db;
DROP OWNED BY regress_sfo_mallory;
DROP ROLE regress_sfo_mallory;
