-- The DROP EXTENSION guard, from 1.2 on the statement's parse tree (src/pg/drop_guard.cpp), not its text.
--
-- 1.1's event trigger function read current_query() with a regular expression: it missed a DROP
-- built by EXECUTE (the text it read was the outer statement) and refused any DROP EXTENSION whose
-- statement text mentioned snowflake elsewhere. The event trigger snowflake_refuse_drop (made in
-- migration/state.sql, ON ddl_command_start WHEN TAG IN ('DROP EXTENSION')) stays; its function
-- becomes C, which sees the DropStmt and calls the check below only when snowflake is among the
-- extensions it names. (An event trigger on sql_drop cannot do it: by then the extension, its
-- tables and its event triggers are gone.)

-- _snowflake_refuse_drop_check() RETURNS void: raises 55006, with the aborts to run first, while
-- snowflake_migration has a live migration (migration/stale.sql) before its cut-over. Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_refuse_drop_check() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    busy text;
    aborts text;
BEGIN
    SELECT string_agg(m.relation, ', ' ORDER BY m.relation),
           string_agg(format('SELECT snowflake_migration_abort(%L);', m.relation), ' ' ORDER BY m.relation) INTO busy, aborts
    FROM snowflake_internal.snowflake_migration m
    WHERE m.phase <> 'done' AND @extschema@._snowflake_migration_live(m.relation, m.key_column, m.new_column, m.phase);
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop extension snowflake while a migration is under way: %', busy
            USING ERRCODE = 'object_in_use',
            DETAIL = 'Its tables carry columns, triggers and constraints that only snowflake_migration_abort() or the cut-over removes; without them inserts would fail.',
            HINT = format('Abort each first: %s', aborts);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION _snowflake_refuse_drop() RETURNS event_trigger
    AS 'MODULE_PATHNAME', '_snowflake_refuse_drop' LANGUAGE C;
