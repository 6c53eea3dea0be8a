-- The migration toolkit: undoing a migration before its cut-over.

-- snowflake_migration_abort(tbl regclass): undoes a migration before its cut-over, in one
-- transaction: drops every column, trigger, function, constraint and index it added (DROP INDEX
-- and DROP COLUMN take ACCESS EXCLUSIVE locks briefly) and forgets its state. What it drops is
-- computed from the catalog now (IF EXISTS: from any phase). Raises 42501 for a table the caller
-- does not own, 55000 when there is no migration of the table or its cut-over is done.
CREATE OR REPLACE FUNCTION snowflake_migration_abort(tbl regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    mig text := @extschema@._snowflake_qname(tbl);
    m record;
    s record;
    quiet text;
BEGIN
    PERFORM @extschema@._snowflake_migration_owner_check(tbl);
    SELECT * INTO m FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no migration of % is under way', mig USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF m.phase = 'done' THEN
        RAISE EXCEPTION 'the migration of % is cut over; it cannot be aborted', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
            HINT = format('The uuids are kept in column %s.', quote_ident(m.key_column || '_uuid'));
    END IF;
    -- Undo everything, done or not: the statements say IF EXISTS; their "skipping" notices are noise.
    quiet := current_setting('client_min_messages');
    PERFORM set_config('client_min_messages', 'warning', true);
    FOR s IN SELECT g.undo FROM @extschema@._snowflake_migration_steps(tbl, true) g
             WHERE g.undo IS NOT NULL ORDER BY g.step DESC
    LOOP
        EXECUTE s.undo;
    END LOOP;
    PERFORM set_config('client_min_messages', quiet, true);
    DELETE FROM @extschema@.snowflake_migration_map x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration_step x WHERE x.relation = mig;
    DELETE FROM @extschema@.snowflake_migration x WHERE x.relation = mig;
    RAISE NOTICE 'snowflake: migration of % aborted', mig;
END
$fn$;

COMMENT ON FUNCTION snowflake_migration_abort(regclass) IS 'undo a migration before its cut-over';
