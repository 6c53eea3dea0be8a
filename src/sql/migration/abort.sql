-- The migration toolkit: undoing a migration before its cut-over.

-- snowflake_migration_abort(tbl regclass, lock_wait, give_up_after): undoes a migration before
-- its cut-over, in one transaction: drops every column, trigger, function, constraint and index it
-- added and forgets its state (the IDs its backfill gave out stay recorded as taken in
-- snowflake_migration_lane). What it drops is computed from the catalog now (IF EXISTS: from any
-- phase). The ID map is deleted first, before any lock on the tables, so that its size never
-- lengthens the time writers wait; then the catalog changes take ACCESS EXCLUSIVE locks the way
-- the start and the cut-over do: one order, referenced table first, each attempt waiting at most
-- lock_wait, rolled back and retried with back-off until give_up_after (then 55P03, nothing
-- changed). Raises 42501 for a table the caller does not own, 55000 when there is no migration of
-- the table or its cut-over is done.
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl regclass, lock_wait interval DEFAULT '100 ms',
                                                     give_up_after interval DEFAULT '10 min') RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    quiet text := current_setting('client_min_messages');
    attempt integer := 0;
    since timestamptz := clock_timestamp();
    caller_lock_timeout text := current_setting('lock_timeout');
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        PERFORM @extschema@._snowflake_integer_abort(tbl, lock_wait, give_up_after);
        RETURN;
    END IF;
    SELECT * INTO m FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE EXCEPTION 'the migration of % is cut over; it cannot be aborted', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The uuids are kept in column %s.', quote_ident(m.key_column || '_uuid'));
    END IF;
    DELETE FROM snowflake_internal.snowflake_migration_map x WHERE x.relation = mig;
    LOOP
        BEGIN
            PERFORM @extschema@._snowflake_lock_all(
                ARRAY(SELECT g.target FROM @extschema@._snowflake_migration_steps(tbl, true) g
                      WHERE g.phase = 'start' GROUP BY g.target ORDER BY g.target <> mig, g.target),
                'ACCESS EXCLUSIVE', lock_wait);
            PERFORM set_config('lock_timeout', @extschema@._snowflake_ms(lock_wait), true);
            -- Undo everything, done or not: the statements say IF EXISTS; their "skipping" notices are noise.
            PERFORM set_config('client_min_messages', 'warning', true);
            -- A partitioned table's index first: its partitions' indexes, once attached, go with it.
            FOR s IN SELECT g.undo FROM @extschema@._snowflake_migration_steps(tbl, true) g
                     WHERE g.undo IS NOT NULL ORDER BY g.kind = 'index_only' DESC, g.step DESC
            LOOP
                EXECUTE s.undo;
            END LOOP;
            PERFORM set_config('client_min_messages', quiet, true);
            EXIT;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            PERFORM set_config('client_min_messages', quiet, true);
            attempt := attempt + 1;
            PERFORM @extschema@._snowflake_give_way(mig, 'the abort', SQLERRM, attempt, lock_wait, give_up_after, since);
        END;
    END LOOP;
    PERFORM set_config('lock_timeout', caller_lock_timeout, true);
    DELETE FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted', mig;
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_abort(regclass, interval, interval) IS 'undo a migration before its cut-over';
