-- The migration toolkit, phase 1: the bigint twins, their default and the triggers that fill them.

-- snowflake_migration_start(tbl regclass): phase 1, one short transaction. Adds the bigint twin
-- of the key (nullable, no default: no rewrite) and sets its default to snowflake_next(); adds a
-- twin to every referencing column with a trigger that fills it; grants on each twin the column
-- privileges of its uuid column (on a subscriber's copy only the twins and the grants:
-- src/sql/migration/replica.sql). Takes ACCESS EXCLUSIVE locks on
-- the table and the referencing tables for catalog changes only, the way the cut-over does: one
-- order, referenced table first, each attempt waiting at most lock_wait, retried with back-off
-- until give_up_after (then 55P03, nothing changed). Raises 42501
-- for a table the caller does not own, 55000 if a migration of the table exists or the generator
-- cannot issue IDs, and the plan's errors.
CREATE OR REPLACE FUNCTION snowflake_migration_start(tbl regclass, lock_wait interval DEFAULT '100 ms',
                                                     give_up_after interval DEFAULT '10 min') RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    key_col text;
    since timestamptz := clock_timestamp();
    widen boolean := @extschema@._snowflake_widens(tbl);
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        PERFORM @extschema@._snowflake_integer_start(tbl);
        RETURN;
    END IF;
    PERFORM @extschema@._snowflake_start_existing(tbl);
    -- Another table of its chain migrating at the same time: refused only where one index holds
    -- columns of both migrations.
    PERFORM @extschema@._snowflake_migration_overlap(tbl);
    PERFORM @extschema@._snowflake_start_refused_dependents(tbl);
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    -- A smallint or integer key being widened is checked and recorded as integer keys are
    -- (src/sql/migration/integer.sql): its sequence, identity and largest key, below the first ID.
    IF widen THEN
        PERFORM @extschema@._snowflake_integer_record_start(tbl);
    -- (A subscriber's copy gets the publisher's IDs: src/sql/migration/replica.sql.)
    ELSIF NOT @extschema@._snowflake_migration_replica(tbl, false) THEN
        PERFORM @extschema@.snowflake_next();
    END IF;

    INSERT INTO snowflake_internal.snowflake_migration_step (relation, step, phase, kind, target, object)
    SELECT mig, g.step, g.phase, g.kind, g.target, g.object
    FROM @extschema@._snowflake_migration_steps(tbl, false) g;
    SELECT a.attname INTO key_col FROM pg_attribute a WHERE a.attrelid = tbl AND a.attnum = @extschema@._snowflake_key_att(tbl);
    INSERT INTO snowflake_internal.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, key_col, key_col || '_snowflake', 'started');

    -- The statements computed under the locks, in this call: none is read back. The locks are
    -- taken the referenced table first, giving way to writers as the cut-over does.
    PERFORM @extschema@._snowflake_run_locked(tbl, 'start', lock_wait, give_up_after, since);
    UPDATE snowflake_internal.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.phase = 'start';

    PERFORM @extschema@._snowflake_start_notice(tbl, key_col, widen);
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_start(regclass, interval, interval) IS 'migration phase 1: new rows get snowflake keys in a bigint twin of the uuid key';

-- _snowflake_start_existing(tbl regclass): what the start finds recorded for a table of tbl's
-- name: a record that does not describe tbl (left by a dropped table of that name, or written by
-- hand) is deleted with a notice; a migration of tbl that is done or under way raises 55000 with
-- where to go instead (42501 first for a caller who does not own tbl). Writes only the migration
-- state of tbl's name.
CREATE OR REPLACE FUNCTION _snowflake_start_existing(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    s record;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT x.phase, @extschema@._snowflake_migration_live(x.relation, x.key_column, x.new_column, x.phase) AS live INTO s
    FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND NOT s.live THEN
        -- Left by a table of that name that was dropped (or recorded by hand): not this table's.
        DELETE FROM snowflake_internal.snowflake_migration_map x WHERE x.relation = mig;
        DELETE FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig;
        DELETE FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
        DELETE FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
        RAISE NOTICE 'snowflake: forgot the state of a migration of % (phase %), which does not describe this table', mig, s.phase;
    ELSIF FOUND AND s.phase = 'done' THEN
        RAISE EXCEPTION '% was migrated already: its key is a snowflake bigint', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Its record stays in snowflake_migration; nothing is left to do.';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, s.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it before the cut-over.', mig, mig);
    END IF;
END
$fn$;

-- _snowflake_start_refused_dependents(tbl regclass): raises 0A000 with the list of the objects
-- over the key or the referencing columns that the migration cannot carry
-- (_snowflake_migration_dependents_of), before the start changes anything. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_start_refused_dependents(tbl regclass) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    touched text;
BEGIN
    SELECT string_agg(format('%s: %s', d.object, d.action), E'\n' ORDER BY d.object) INTO touched
    FROM @extschema@._snowflake_migration_dependents_of(tbl) d WHERE d.refused;
    IF touched IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references cannot be carried through the migration', mig
            USING ERRCODE = 'feature_not_supported', DETAIL = touched,
            HINT = format('SELECT target, status FROM snowflake_migration_plan(%L) WHERE phase = ''dependent'' lists them all.', mig);
    END IF;
END
$fn$;

-- _snowflake_start_notice(tbl regclass, key_col text, widen boolean): the start's closing notice:
-- what it did to tbl (key_col's new twin, or its widening), the tables it touched (from the
-- steps recorded) and, as its hint, the next call. Reads the migration's steps only.
CREATE OR REPLACE FUNCTION _snowflake_start_notice(tbl regclass, key_col text, widen boolean) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    touched text;
BEGIN
    SELECT string_agg(DISTINCT x.target, ', ') INTO touched
    FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig;
    IF widen THEN
        RAISE NOTICE 'snowflake: migrating %: widening % to %, the old values copied into %; tables touched: %',
            mig, quote_ident(key_col), @extschema@._snowflake_target_type(tbl, true), quote_ident(key_col || '_snowflake'), touched
            USING HINT = format('Next: CALL snowflake_migration_backfill(%L) (it copies the old values; no options).', mig);
        RETURN;
    END IF;
    RAISE NOTICE 'snowflake: migrating %: new rows get snowflake IDs in column %; tables touched: %',
        mig, quote_ident(key_col || '_snowflake')
             || CASE WHEN @extschema@._snowflake_migration_replica(tbl, true) THEN ' from the publisher (a subscriber''s copy)' ELSE '' END, touched
        USING HINT = format('Next: CALL snowflake_migration_backfill(%L, time_column => ... | uuid_time => true | order_by => ...).', mig);
END
$fn$;

-- _snowflake_migration_probe_or_refuse(tbl regclass): the start's last statement, under its locks:
-- raises 0A000 with the objects _snowflake_migration_probe() found that would not work over the
-- bigint columns (the start then changes nothing).
CREATE OR REPLACE FUNCTION _snowflake_migration_probe_or_refuse(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    touched text := @extschema@._snowflake_migration_probe(tbl);
BEGIN
    IF touched IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references would not work over the bigint columns', @extschema@._snowflake_qname(tbl)
            USING ERRCODE = 'feature_not_supported', DETAIL = touched,
            HINT = 'Nothing changed. Change them so that they do not depend on the key''s type (or drop them and create them again after the cut-over), then start again.';
    END IF;
END
$fn$;

-- _snowflake_migration_probe(tbl regclass) -> text: what the cut-over would do to the objects over
-- the migrated columns, tried now against the twins (which the start has just added): the columns
-- are renamed as the cut-over renames them, every view carried is dropped and created again,
-- every policy altered, every SQL function or procedure whose source mentions a migrated column
-- (and that the caller may replace) created again with its body checked; then all of it is rolled
-- back. Returns the objects that failed, each with PostgreSQL's error, or NULL. Runs inside the
-- start, under its ACCESS EXCLUSIVE locks (lock_timeout as the start set it).
CREATE OR REPLACE FUNCTION _snowflake_migration_probe(tbl regclass) RETURNS text
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET check_function_bodies = on AS $fn$
DECLARE
    ctx record;
    c @extschema@._snowflake_migrated_column;
    failed text[];
    deps jsonb;
BEGIN
    SELECT * INTO ctx FROM @extschema@._snowflake_migration_context(tbl, true);
    -- Computed before the renames: the definitions as they read the uuid columns' names now.
    deps := (SELECT jsonb_agg(jsonb_build_object('o', x.object, 'b', x.before_sql, 'a', coalesce(to_jsonb(x.after_sql), '[]')) ORDER BY x.object)
             FROM @extschema@._snowflake_migration_dependents(ARRAY(SELECT u.rel FROM unnest(ctx.cols) u), ARRAY(SELECT u.att FROM unnest(ctx.cols) u)) x
             WHERE NOT x.refused AND (x.before_sql IS NOT NULL OR x.after_sql IS NOT NULL));
    BEGIN
        FOREACH c IN ARRAY ctx.cols LOOP
            EXECUTE format('ALTER TABLE %s RENAME COLUMN %I TO %I', c.qname, c.col, c.col || '_uuid');
            EXECUTE format('ALTER TABLE %s RENAME COLUMN %I TO %I', c.qname, c.twin, c.col);
        END LOOP;
        failed := @extschema@._snowflake_probe_dependents(deps) || @extschema@._snowflake_probe_sql_functions(ctx.cols);
        RAISE EXCEPTION USING ERRCODE = 'SFPRB', MESSAGE = 'probe done';
    EXCEPTION WHEN SQLSTATE 'SFPRB' THEN
        NULL;  -- everything above is rolled back
    END;
    RETURN nullif(array_to_string(failed, E'\n'), '');
END
$fn$;

-- _snowflake_probe_dependents(deps jsonb) -> text[]: the probe's first trial, inside its
-- subtransaction, after the renames: each dependent's statements ({o: object, b: before_sql,
-- a: [after_sql...]}, computed before the renames) run in a subtransaction of its own; returns
-- each object whose statements failed, with PostgreSQL's error. Lock waits, deadlocks and cancels
-- are raised, not listed (the start gives way and tries again).
CREATE OR REPLACE FUNCTION _snowflake_probe_dependents(deps jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    d record;
    st text;
    failed text[] := '{}';
BEGIN
    FOR d IN SELECT e.value ->> 'o' AS object, e.value ->> 'b' AS before_sql, e.value -> 'a' AS after_sql
             FROM jsonb_array_elements(coalesce(deps, '[]')) e
    LOOP
        BEGIN
            IF d.before_sql IS NOT NULL THEN EXECUTE d.before_sql; END IF;
            FOR st IN SELECT a.value FROM jsonb_array_elements_text(d.after_sql) WITH ORDINALITY a ORDER BY a.ordinality LOOP
                EXECUTE st;
            END LOOP;
        EXCEPTION WHEN lock_not_available OR deadlock_detected OR query_canceled THEN RAISE;
        WHEN grouping_error THEN
            -- A view grouped by the key relies on its primary key, which moves to the twin only
            -- at the cut-over (it needs the index built later): not provable now; the cut-over
            -- creates such a view after moving the primary key.
            NULL;
        WHEN OTHERS THEN
            failed := failed || format('%s: %s (%s)', d.object, SQLERRM, SQLSTATE);
        END;
    END LOOP;
    RETURN failed;
END
$fn$;

-- _snowflake_probe_sql_functions(cols) -> text[]: the probe's second trial, inside its
-- subtransaction, after the renames: every SQL function or procedure the caller may replace
-- whose source names both a migrated column and its table (of cols) is created again, its body
-- checked against the bigint columns (check_function_bodies, as the probe sets it); returns each
-- that failed, with PostgreSQL's error. Lock waits, deadlocks and cancels are raised.
CREATE OR REPLACE FUNCTION _snowflake_probe_sql_functions(cols @extschema@._snowflake_migrated_column[]) RETURNS text[]
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    d record;
    failed text[] := '{}';
BEGIN
    -- SQL bodies are parsed when they are created: create them again over the bigint columns.
    FOR d IN SELECT pr.oid FROM pg_proc pr JOIN pg_language l ON l.oid = pr.prolang AND l.lanname = 'sql'
             WHERE pg_has_role(pr.proowner, 'USAGE')
               AND EXISTS (SELECT 1 FROM unnest(cols) u JOIN pg_class k ON k.oid = u.rel
                           WHERE pr.prosrc ~* ('\m' || u.col || '\M') AND pr.prosrc ~* ('\m' || k.relname || '\M'))
               AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = pr.oid AND e.deptype = 'e')
             ORDER BY pr.oid
    LOOP
        BEGIN
            -- Names in the body resolve as they would for its owner: on its own search_path if
            -- it pins one, else its schema and the default path.
            PERFORM set_config('search_path', coalesce(
                (SELECT substr(cfg, 13) FROM pg_proc pr, unnest(pr.proconfig) cfg WHERE pr.oid = d.oid AND cfg LIKE 'search\_path=%'),
                (SELECT format('%I, "$user", public', n.nspname) FROM pg_proc pr JOIN pg_namespace n ON n.oid = pr.pronamespace WHERE pr.oid = d.oid)), true);
            EXECUTE pg_get_functiondef(d.oid);
            PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
        EXCEPTION WHEN lock_not_available OR deadlock_detected OR query_canceled THEN RAISE;
        WHEN OTHERS THEN
            PERFORM set_config('search_path', 'pg_catalog, pg_temp', true);
            failed := failed || format('%s %s: %s (%s)', CASE WHEN (SELECT prokind FROM pg_proc WHERE oid = d.oid) = 'p' THEN 'procedure' ELSE 'function' END,
                                       d.oid::regprocedure, SQLERRM, SQLSTATE);
        END;
    END LOOP;
    RETURN failed;
END
$fn$;
