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
    since timestamptz := clock_timestamp();
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    -- Tables keyed by integers: src/sql/migration/integer.sql.
    IF @extschema@._snowflake_integer_migration(tbl) THEN
        PERFORM @extschema@._snowflake_integer_abort(tbl, lock_wait, give_up_after);
        RETURN;
    END IF;
    m := @extschema@._snowflake_migration_row(tbl);
    -- A widened integer key after its cut-over: its sequence or identity back (integer.sql).
    IF m.phase = 'done' AND @extschema@._snowflake_widens(tbl) THEN
        PERFORM @extschema@._snowflake_integer_abort(tbl, lock_wait, give_up_after);
        RETURN;
    END IF;
    IF m.phase = 'done' THEN
        RAISE EXCEPTION 'the migration of % is cut over; it cannot be aborted', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The uuids are kept in column %s.', quote_ident(m.key_column || '_uuid'));
    END IF;
    DELETE FROM snowflake_internal.snowflake_migration_map x WHERE x.relation = mig;
    PERFORM @extschema@._snowflake_run_locked(tbl, 'abort', lock_wait, give_up_after, since);
    DELETE FROM snowflake_internal.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration_integer x WHERE x.relation = mig;
    DELETE FROM snowflake_internal.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted', mig;
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_abort(regclass, interval, interval) IS 'undo a migration before its cut-over';
