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

-- DROP EXTENSION counts only live migrations before their cut-over: _snowflake_refuse_drop_check()
-- in src/sql/drop_guard.sql, which the C event trigger function calls.
