-- The migration toolkit: state that no longer describes a migration (its table dropped, or
-- recorded by hand for a table without the columns a migration adds) blocks nothing.

-- _snowflake_migration_live(relation, key_column, new_column, phase) -> boolean: whether a row of
-- snowflake_migration describes the table that now has that name: before the cut-over the table
-- has the twin new_column; after it, its key_column is a bigint. A row left by a table that was
-- dropped (or planted by a role for its own table, which it then dropped) is not live: it neither
-- blocks DROP EXTENSION nor a migration of another table that later takes the name (the start
-- forgets it). Locks nothing.
CREATE OR REPLACE FUNCTION _snowflake_migration_live(relation text, key_column text, new_column text, phase text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT CASE WHEN phase OPERATOR(pg_catalog.=) 'done'
                                 THEN a.attname OPERATOR(pg_catalog.=) key_column AND a.atttypid OPERATOR(pg_catalog.=) CAST('pg_catalog.int8' AS pg_catalog.regtype)
                                 ELSE a.attname OPERATOR(pg_catalog.=) new_column END
                     FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(relation)
                       AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY[key_column, new_column]) AND NOT a.attisdropped
                       AND a.attnum OPERATOR(pg_catalog.>) 0
                     ORDER BY a.attname OPERATOR(pg_catalog.=) new_column DESC LIMIT 1), false)
$$;

-- _snowflake_refuse_drop() (replaces the definition of the state's file, which the update keeps
-- from 1.1): only live migrations before their cut-over refuse DROP EXTENSION (55006).
CREATE OR REPLACE FUNCTION _snowflake_refuse_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q text := lower(regexp_replace(regexp_replace(current_query(), '/\*.*?\*/', ' ', 'g'), '--[^\n]*', ' ', 'g'));
    busy text;
    aborts text;
BEGIN
    IF q !~ 'drop\s+extension(\s+if\s+exists)?\s+([^;]*[\s,])?"?snowflake"?($|[\s,;])' THEN
        RETURN;
    END IF;
    SELECT string_agg(m.relation, ', ' ORDER BY m.relation),
           string_agg(format('SELECT snowflake_migration_abort(%L);', m.relation), ' ' ORDER BY m.relation) INTO busy, aborts
    FROM @extschema@.snowflake_migration m
    WHERE m.phase <> 'done' AND @extschema@._snowflake_migration_live(m.relation, m.key_column, m.new_column, m.phase);
    IF busy IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop extension snowflake while a migration is under way: %', busy
            USING ERRCODE = 'object_in_use',
            DETAIL = 'Its tables carry columns, triggers and constraints that only snowflake_migration_abort() or the cut-over removes; without them inserts would fail.',
            HINT = format('Abort each first: %s', aborts);
    END IF;
END
$$;
