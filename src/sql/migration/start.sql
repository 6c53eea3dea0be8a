-- The migration toolkit, phase 1: the bigint twins, their default and the triggers that fill them.

-- snowflake_migration_start(tbl regclass): phase 1, one short transaction. Adds the bigint twin
-- of the key (nullable, no default: no rewrite) and sets its default to snowflake_next(); adds a
-- twin to every referencing column with a trigger that fills it; grants on each twin the column
-- privileges of its uuid column. Takes ACCESS EXCLUSIVE locks on
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
    s record;
    key_col text;
    touched text;
    attempt integer := 0;
    since timestamptz := clock_timestamp();
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT x.phase INTO s FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF FOUND AND s.phase = 'done' THEN
        RAISE EXCEPTION '% was migrated already: its key is a snowflake bigint', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = 'Its record stays in snowflake_migration; nothing is left to do.';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'a migration of % is already under way (phase %)', mig, s.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('See SELECT * FROM snowflake_migration_plan(%L); snowflake_migration_abort(%L) undoes it before the cut-over.', mig, mig);
    END IF;
    -- Objects over the key or the referencing columns that the migration cannot carry: refused
    -- with the list before anything changes.
    SELECT string_agg(format('%s: %s', d.object, d.action), E'\n' ORDER BY d.object) INTO touched
    FROM @extschema@._snowflake_migration_dependents_of(tbl) d WHERE d.refused;
    IF touched IS NOT NULL THEN
        RAISE EXCEPTION 'objects that use the key of % or its references cannot be carried through the migration', mig
            USING ERRCODE = 'feature_not_supported', DETAIL = touched,
            HINT = format('SELECT target, status FROM snowflake_migration_plan(%L) WHERE phase = ''dependent'' lists them all.', mig);
    END IF;
    -- The new default must work: this raises if snowflake is not preloaded or has no machine id.
    PERFORM @extschema@.snowflake_next();

    INSERT INTO @extschema@.snowflake_migration_step (relation, step, phase, kind, target, object)
    SELECT mig, g.step, g.phase, g.kind, g.target, g.object
    FROM @extschema@._snowflake_migration_steps(tbl, false) g;
    SELECT a.attname INTO key_col
    FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.conrelid = tbl AND c.contype = 'p';
    INSERT INTO @extschema@.snowflake_migration (relation, key_column, new_column, phase)
    VALUES (mig, key_col, key_col || '_snowflake', 'started');

    -- The statements the plan computed a moment ago, in this call: none is read back. Their
    -- locks are taken first, the referenced table first, giving way to writers as the cut-over
    -- does (_snowflake_lock_all); an attempt that gives way is rolled back and tried again.
    LOOP
        BEGIN
            PERFORM @extschema@._snowflake_lock_all(
                ARRAY(SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, false) g
                      WHERE g.phase = 'start' GROUP BY g.target ORDER BY g.target <> mig, g.target),
                'ACCESS EXCLUSIVE', lock_wait);
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            FOR s IN SELECT g.statement FROM @extschema@._snowflake_migration_steps(tbl, false) g
                     WHERE g.phase = 'start' ORDER BY g.step
            LOOP
                EXECUTE s.statement;
            END LOOP;
            -- Column privileges of each migrated column reach its twin at once: a role that may
            -- SELECT * (every column granted) or INSERT still may while the twins exist.
            FOR s IN SELECT g.statement
                     FROM unnest((SELECT x.cols FROM @extschema@._snowflake_migration_context(tbl, true) x)) c,
                          @extschema@._snowflake_column_grants(c.rel, c.att, c.twin) g
            LOOP
                EXECUTE s.statement;
            END LOOP;
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the start', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    UPDATE @extschema@.snowflake_migration_step x SET finished = true WHERE x.relation = mig AND x.phase = 'start';

    SELECT string_agg(DISTINCT x.target, ', ') INTO touched
    FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migrating %: new rows get snowflake IDs in column %; tables touched: %',
        mig, quote_ident(key_col || '_snowflake'), touched
        USING HINT = format('Next: CALL snowflake_migration_backfill(%L, time_column => ... | uuid_time => true | order_by => ...).', mig);
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_start(regclass, interval, interval) IS 'migration phase 1: new rows get snowflake keys in a bigint twin of the uuid key';
